from __future__ import annotations

import pytest

from nbpresign.server.notebooks.urls import TemplateError, UrlTemplate


@pytest.mark.parametrize(
    ("template", "base", "display"),
    [
        ("http://{name}.localhost:{port}/", "http://mynb.localhost:8080/", "mynb.localhost:8080"),
        (
            "https://{name}.notebook.{region}.example.com",
            "https://mynb.notebook.eu-west-1.example.com",
            "mynb.notebook.eu-west-1.example.com",
        ),
        (
            "http://nb.example.com:{port}/nb/{name}/",
            "http://nb.example.com:8080/nb/mynb/",
            "nb.example.com:8080/nb/mynb",
        ),
    ],
)
def test_templates(template: str, base: str, display: str) -> None:
    urls = UrlTemplate(template, "eu-west-1", 8080)
    assert urls.base_url("MyNb") == base
    assert urls.display_url("MyNb") == display
    assert urls.authorized_url("MyNb", "T") == f"{base}?authToken=T"


@pytest.mark.parametrize(
    "template",
    [
        "http://localhost/",
        "ftp://{name}.x/",
        "{name}",
        "http://{name}.x/?a=b",
        "http://{name}.{nope}/",
        "http://{name}.x/{0}",
    ],
)
def test_bad_templates(template: str) -> None:
    with pytest.raises(TemplateError):
        UrlTemplate(template, "us-east-1", 8080)
