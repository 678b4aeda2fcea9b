"""Where a notebook instance is reached: the URL template.

The template is a URL with placeholders {name} (the lower-cased instance name),
{region} and {port} (the gateway's HTTP port). The default gives every notebook its
own origin, as AWS does (https://NAME.notebook.REGION.sagemaker.aws):

    http://{name}.localhost:{port}/          default; *.localhost resolves in browsers
    https://{name}.notebook.example.com/     a deployment with wildcard DNS and TLS
    http://nb.example.com:8080/nb/{name}/    path prefix: every notebook shares one origin
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_URL_TEMPLATE = "http://{name}.localhost:{port}/"


# What {name} matches in a host or path: the instance name pattern, lower-cased.
NAME_PATTERN = r"(?P<name>[a-z0-9](?:-*[a-z0-9])*)"


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class NotebookAddress:
    """A request's notebook: the instance key, and the path prefix its pages live under."""

    key: str
    prefix: str  # "/" with a host per notebook; "/nb/NAME/" with path prefixes


@dataclass(frozen=True)
class UrlTemplate:
    template: str
    region: str
    port: int
    _matcher: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if "{name}" not in self.template:
            raise TemplateError("the URL template must contain {name}")
        try:
            parts = urlsplit(self.base_url("probe"))
        except (KeyError, IndexError, ValueError) as exc:
            raise TemplateError(f"bad URL template {self.template!r}: {exc}") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TemplateError("the URL template must be an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise TemplateError("the URL template must not have a query or fragment")
        object.__setattr__(self, "_matcher", self._compile())

    def _compile(self) -> re.Pattern[str]:
        """A regex over "host/path" that finds the instance name where {name} stands."""
        parts = urlsplit(self.template)
        where = (parts.netloc + (parts.path or "/")).replace("{port}", str(self.port))
        where = where.replace("{region}", self.region.lower())
        before, _, after = where.partition("{name}")
        if "{name}" in after:
            raise TemplateError("{name} may appear only once in the URL template")
        return re.compile(re.escape(before.lower()) + NAME_PATTERN + re.escape(after.lower()))

    def match(self, host: str, path: str) -> NotebookAddress | None:
        """match("mynb.localhost:8080", "/lab") -> NotebookAddress("mynb", "/") for the default."""
        target = host.lower() + path
        found = self._matcher.match(target)
        if found is None:
            return None
        prefix = target[len(host) : found.end()]
        if not prefix.endswith("/"):
            return None  # the template's path is a folder; /nb/abc must not match /nb/ab
        return NotebookAddress(found["name"], prefix)

    def origin(self, name: str) -> str:
        """origin("MyNb") -> "http://mynb.localhost:8080": what browsers send as Origin."""
        parts = urlsplit(self.base_url(name))
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def secure(self) -> bool:
        return self.template.startswith("https://")

    def base_url(self, name: str) -> str:
        """base_url("MyNb") -> "http://mynb.localhost:8080/"."""
        return self.template.format(name=name.lower(), region=self.region, port=self.port)

    def display_url(self, name: str) -> str:
        """What DescribeNotebookInstance returns as Url: no scheme, no trailing slash."""
        parts = urlsplit(self.base_url(name))
        return (parts.netloc + parts.path).rstrip("/")

    def authorized_url(self, name: str, token: str) -> str:
        return f"{self.base_url(name)}?authToken={token}"
