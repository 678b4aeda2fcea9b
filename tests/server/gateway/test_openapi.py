"""The OpenAPI document: valid, complete, and carrying the field constraints."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from nbpresign.server.api.methods import METHODS
from nbpresign.server.gateway import openapi

DOC: dict[str, Any] = openapi.document(METHODS)


def operation(path: str, verb: str) -> dict[str, Any]:
    result: dict[str, Any] = DOC["paths"][path][verb]
    return result


def test_it_is_a_valid_openapi_3_document() -> None:
    validate(DOC)  # raises on the first problem
    assert DOC["openapi"].startswith("3.")


def test_every_rest_route_is_in_it() -> None:
    documented = {
        (verb.upper(), path) for path, operations in DOC["paths"].items() for verb in operations
    }
    expected = {(b.verb, openapi.openapi_path(b.template)) for m in METHODS for b in m.http}
    assert documented == expected
    assert len(documented) == 37  # 33, and the four login-profile routes


def test_operation_ids_are_service_and_method() -> None:
    ids = [op["operationId"] for ops in DOC["paths"].values() for op in ops.values()]
    assert "PresignService_CreatePresignedNotebookInstanceUrl" in ids
    assert len(ids) == len(set(ids))


def test_path_parameters_and_body() -> None:
    presign = operation(
        "/v1/notebook-instances/{notebook_instance_name}:createPresignedUrl", "post"
    )
    (name,) = presign["parameters"]
    assert name["in"] == "path" and name["required"] is True
    assert name["schema"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 63,
        "pattern": "^(?:[a-zA-Z0-9](-*[a-zA-Z0-9])*)$",
    }
    body = presign["requestBody"]["content"]["application/json"]["schema"]
    # The path binds the name: the body holds the rest.
    assert body["properties"] == {
        "SessionExpirationDurationInSeconds": {
            "type": "integer",
            "format": "int32",
            "minimum": 1800,
            "maximum": 43200,
        }
    }
    assert body["additionalProperties"] is False


def test_query_parameters_with_enums_and_timestamps() -> None:
    params = {p["name"]: p for p in operation("/v1/notebook-instances", "get")["parameters"]}
    assert params["SortBy"]["schema"]["enum"] == ["Name", "CreationTime", "Status"]
    assert params["CreationTimeAfter"]["schema"] == {"type": "string", "format": "date-time"}
    assert params["MaxResults"]["schema"]["maximum"] == 100
    assert all(p["in"] == "query" for p in params.values())


def test_responses_and_errors() -> None:
    responses = operation("/v1/notebook-instances", "get")["responses"]
    page = responses["200"]["content"]["application/json"]["schema"]
    assert page == {"$ref": "#/components/schemas/nbpresign.v1.ListNotebookInstancesResponse"}
    schema = DOC["components"]["schemas"]["nbpresign.v1.ListNotebookInstancesResponse"]
    assert schema["required"] == ["NextToken", "NotebookInstances"]  # always sent
    assert responses["default"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/google.rpc.Status"
    }
    assert "x-amzn-RequestId" in responses["default"]["headers"]


def test_the_sigv4_security_scheme() -> None:
    scheme = DOC["components"]["securitySchemes"]["sigv4"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert DOC["security"] == [{"sigv4": []}]


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("^[a-zA-Z0-9](-*[a-zA-Z0-9])*", "nb-1", True),
        ("^[a-zA-Z0-9](-*[a-zA-Z0-9])*", "nb_1", False),  # unanchored, 'nb' would match
        ("[a-zA-Z0-9-]+", "a b", False),
    ],
)
def test_patterns_are_anchored(pattern: str, value: str, matches: bool) -> None:
    assert bool(re.search(openapi.anchored(pattern), value)) is matches


def test_no_gateway_only_rpc_is_in_it() -> None:
    assert "AuthenticateRequest" not in openapi.render(METHODS).decode()


@pytest.mark.parametrize(
    ("template", "path"),
    [("/v1/{name=projects/*}:get", "/v1/{name}:get"), ("/v1/x/{a}", "/v1/x/{a}")],
)
def test_openapi_paths(template: str, path: str) -> None:
    assert openapi.openapi_path(template) == path
