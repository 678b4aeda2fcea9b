from __future__ import annotations

import pytest

from nbpresign.server.gateway.path_template import TemplateError, compile_template

PRESIGN = "/v1/notebook-instances/{notebook_instance_name}:createPresignedUrl"


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/v1/notebook-instances", "/v1/notebook-instances", {}),
        ("/v1/notebook-instances", "/v1/notebook-instances/", None),
        ("/v1/notebook-instances", "/v1/notebook-instance", None),
        ("/v1/notebook-instances/{name}", "/v1/notebook-instances/nb", {"name": "nb"}),
        ("/v1/notebook-instances/{name}", "/v1/notebook-instances/", None),
        ("/v1/notebook-instances/{name}", "/v1/notebook-instances/a/b", None),
        (
            PRESIGN,
            "/v1/notebook-instances/nb-1:createPresignedUrl",
            {"notebook_instance_name": "nb-1"},
        ),
        (PRESIGN, "/v1/notebook-instances/nb-1", None),
        (PRESIGN, "/v1/notebook-instances/nb-1:other", None),
        # Values are decoded; a single-segment variable decodes %2F to '/'.
        ("/v1/users/{user_name}", "/v1/users/a%40b", {"user_name": "a@b"}),
        ("/v1/users/{user_name}", "/v1/users/a%2Fb", {"user_name": "a/b"}),
        ("/v1/{name=projects/*}", "/v1/projects/p1", {"name": "projects/p1"}),
        ("/v1/{name=projects/*}", "/v1/projects/p1/x", None),
        ("/v1/{name=projects/*}", "/v1/folders/p1", None),
        ("/v1/{name=files/**}", "/v1/files/a/b/c", {"name": "files/a/b/c"}),
        ("/v1/{name=files/**}", "/v1/files/a%2Fb/c", {"name": "files/a%2Fb/c"}),
        ("/v1/{a.b}/x/{c}", "/v1/1/x/2", {"a.b": "1", "c": "2"}),
        ("/v1/*/x", "/v1/anything/x", {}),
        ("/v1/**", "/v1/a/b", {}),
        ("/v1/{name=**}:get", "/v1/a/b:get", {"name": "a/b"}),
        ("/v1/a.b", "/v1/aXb", None),  # literals are literal, not regexes
    ],
)
def test_match(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert compile_template(template).match(path) == expected


def test_variables_in_order() -> None:
    compiled = compile_template("/v1/users/{user_name}/access-keys/{access_key_id}")
    assert compiled.variables == ("user_name", "access_key_id")


@pytest.mark.parametrize(
    "template",
    [
        "v1/x",  # no leading slash
        "/v1/{name",  # unbalanced
        "/v1/name}",
        "/v1//x",  # empty segment
        "/v1/{a}/{a}",  # bound twice
        "/v1/{1a}",  # not a field path
        "/v1/**/x",  # ** not last
        "/v1/{a={b}}",  # nested variable
        "/v1/{a=b/**/c}",
        "/v1/x:",  # empty verb
    ],
)
def test_bad_templates(template: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(template)
