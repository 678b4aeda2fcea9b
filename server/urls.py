"""Where a notebook instance is reached: the URL template.

The template is a URL with placeholders {name} (the lower-cased instance name),
{region} and {port} (the gateway's HTTP port). The default gives every notebook its
own origin, as AWS does (https://NAME.notebook.REGION.sagemaker.aws):

    http://{name}.localhost:{port}/          default; *.localhost resolves in browsers
    https://{name}.notebook.example.com/     a deployment with wildcard DNS and TLS
    http://nb.example.com:8080/nb/{name}/    path prefix: every notebook shares one origin
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_URL_TEMPLATE = "http://{name}.localhost:{port}/"


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class UrlTemplate:
    template: str
    region: str
    port: int

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

    def base_url(self, name: str) -> str:
        """base_url("MyNb") -> "http://mynb.localhost:8080/"."""
        return self.template.format(name=name.lower(), region=self.region, port=self.port)

    def display_url(self, name: str) -> str:
        """What DescribeNotebookInstance returns as Url: no scheme, no trailing slash."""
        parts = urlsplit(self.base_url(name))
        return (parts.netloc + parts.path).rstrip("/")

    def authorized_url(self, name: str, token: str) -> str:
        return f"{self.base_url(name)}?authToken={token}"
