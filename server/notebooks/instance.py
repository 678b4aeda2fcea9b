"""A registered notebook instance and the names derived from it."""

from __future__ import annotations

from dataclasses import dataclass

IN_SERVICE = "InService"
STOPPED = "Stopped"
FAILED = "Failed"


@dataclass(frozen=True)
class NotebookInstance:
    name: str  # as registered; unique ignoring case
    jupyter_url: str
    jupyter_token: str  # secret: never leaves the service through any read
    status: str
    creation_time: float  # seconds since the epoch
    last_modified_time: float
    # Which life of the name this is: new at every register, stop, start and repoint, so a
    # URL or session cookie from before names an incarnation that no longer exists.
    incarnation: str = ""

    @property
    def key(self) -> str:
        """The lower-cased name: the identity used in ARNs, host names and storage."""
        return self.name.lower()


def instance_arn(region: str, account_id: str, name: str) -> str:
    """instance_arn("us-east-1", "123456789012", "MyNb") ->
    "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/mynb"."""
    return f"arn:aws:sagemaker:{region}:{account_id}:notebook-instance/{name.lower()}"
