"""What this deployment calls things: its region, account id and URL template."""

from __future__ import annotations

from dataclasses import dataclass

from nbpresign.common import errors
from nbpresign.server.notebooks.instance import instance_arn
from nbpresign.server.notebooks.urls import UrlTemplate


@dataclass(frozen=True)
class Site:
    region: str
    account_id: str
    urls: UrlTemplate

    def arn(self, name: str) -> str:
        return instance_arn(self.region, self.account_id, name)

    def instance_key(self, arn: str) -> str:
        """The key of the notebook instance an ARN names; a ValidationException if it names
        anything else (another region, account or resource type)."""
        prefix = self.arn("")
        name = arn[len(prefix) :] if arn.startswith(prefix) else ""
        if not name or "/" in name:
            raise errors.VALIDATION(f"Invalid ResourceArn {arn}: not a notebook instance ARN")
        return name.lower()
