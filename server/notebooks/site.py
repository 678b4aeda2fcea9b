"""What this deployment calls things: its region, account id and URL template."""

from __future__ import annotations

from dataclasses import dataclass

from nbpresign.server.notebooks.instance import instance_arn
from nbpresign.server.notebooks.urls import UrlTemplate


@dataclass(frozen=True)
class Site:
    region: str
    account_id: str
    urls: UrlTemplate

    def arn(self, name: str) -> str:
        return instance_arn(self.region, self.account_id, name)
