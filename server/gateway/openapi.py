"""The OpenAPI 3 document of the REST routes, generated from the descriptors.

    document(METHODS)["paths"]["/v1/notebook-instances/{notebook_instance_name}"]["get"]
    == {"operationId": "NotebookInstanceService_DescribeNotebookInstance", ...}

One operation per HTTP rule, as protoc-gen-openapiv2 writes them: path parameters from
the template, query parameters for the fields neither the path nor the body binds
(nested fields dotted, repeated ones as arrays), the request body from `body`, the
response message, and google.rpc.Status for errors. Field constraints become JSON Schema
keywords (maxLength, minLength, pattern, minimum, maximum, enum). Field names are the
JSON names, which are the AWS member names. Served at GET /openapi.json and printed by
`nbpresign openapi`: one function, so the two are the same document.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

from aiohttp import web
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from nbpresign.common.defaults import REQUEST_ID_HEADER
from nbpresign.common.signing import SERVICE
from nbpresign.server.api.context import new_request_id
from nbpresign.server.api.methods import HttpBinding, Method
from nbpresign.server.gateway import query
from nbpresign.server.gateway.errors import MethodNotAllowed, default_error_handler
from nbpresign.server.gateway.marshal import PROTO_JSON
from nbpresign.server.gateway.path_template import compile_template
from nbpresign.v1 import constraints_pb2

OPENAPI_PATH = "/openapi.json"
Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
Schema = dict[str, Any]
_F = FieldDescriptor

SCALARS: dict[int, Schema] = {
    _F.TYPE_STRING: {"type": "string"},
    _F.TYPE_BOOL: {"type": "boolean"},
    _F.TYPE_INT32: {"type": "integer", "format": "int32"},
    _F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    _F.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    _F.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    _F.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    # Proto JSON writes 64-bit integers as strings (JavaScript numbers lose precision).
    _F.TYPE_INT64: {"type": "string", "format": "int64"},
    _F.TYPE_SINT64: {"type": "string", "format": "int64"},
    _F.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    _F.TYPE_UINT64: {"type": "string", "format": "uint64"},
    _F.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    _F.TYPE_DOUBLE: {"type": "number", "format": "double"},
    _F.TYPE_FLOAT: {"type": "number", "format": "float"},
    _F.TYPE_BYTES: {"type": "string", "format": "byte"},
}

# Well-known types whose proto JSON form is a string.
WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
}

STATUS: Schema = {
    "type": "object",
    "description": "google.rpc.Status: the gRPC code, the message, and details "
    "(ErrorInfo with the AWS error code as reason; BadRequest with field violations).",
    "properties": {
        "code": {"type": "integer", "format": "int32"},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {"$ref": "#/components/schemas/google.protobuf.Any"}},
    },
    "required": ["code", "message", "details"],
}
ANY: Schema = {
    "type": "object",
    "properties": {"@type": {"type": "string"}},
    "required": ["@type"],
    "additionalProperties": {},
}
SIGV4: Schema = {
    "type": "apiKey",
    "name": "Authorization",
    "in": "header",
    "description": f"AWS Signature Version 4: service '{SERVICE}', the server's --region; "
    "e.g. curl --aws-sigv4 'aws:amz:us-east-1:sagemaker' --user KEY:SECRET.",
    "x-amazon-apigateway-authtype": "awsSigv4",
}
REQUEST_ID: Schema = {
    "description": "The request's id, as AWS names it",
    "schema": {"type": "string"},
}


def _message(field: FieldDescriptor) -> Descriptor:
    assert field.message_type is not None  # only called for message fields
    return field.message_type


def _ref(descriptor: Descriptor) -> Schema:
    return {"$ref": f"#/components/schemas/{descriptor.full_name}"}


def _constraints(field: FieldDescriptor) -> constraints_pb2.FieldConstraints | None:
    options = field.GetOptions()
    if not options.HasExtension(constraints_pb2.constraints):
        return None
    return options.Extensions[constraints_pb2.constraints]


def anchored(pattern: str) -> str:
    """AWS patterns match the whole value; JSON Schema's match anywhere: anchor them."""
    return "^(?:" + pattern.removeprefix("^").removesuffix("$") + ")$"


def _constrained(schema: Schema, field: FieldDescriptor) -> Schema:
    c = _constraints(field)
    if c is None:
        return schema
    schema = dict(schema)
    if c.required and field.type == _F.TYPE_STRING:
        schema["minLength"] = 1  # required strings must not be empty
    for name, keyword in (("min_length", "minLength"), ("max_length", "maxLength")):
        if c.HasField(name):  # type: ignore[arg-type]
            schema[keyword] = getattr(c, name)
    for name, keyword in (("min_value", "minimum"), ("max_value", "maximum")):
        if c.HasField(name):  # type: ignore[arg-type]
            schema[keyword] = getattr(c, name)
    # Java's \p{L} classes (tag patterns) are ECMA-262 only under the "u" flag, which
    # JSON Schema does not set: such a pattern is enforced by the service, not documented.
    if c.pattern and "\\p{" not in c.pattern:
        schema["pattern"] = anchored(c.pattern)
    if c.allowed_values:
        schema["enum"] = list(c.allowed_values)
    return schema


class _Builder:
    """Collects the component schemas of output messages as operations need them."""

    def __init__(self) -> None:
        self.components: dict[str, Schema] = {}

    def value_schema(self, field: FieldDescriptor, *, output: bool) -> Schema:
        """One value of the field (an element, for a repeated one)."""
        if field.type == _F.TYPE_ENUM:
            assert field.enum_type is not None
            return {"type": "string", "enum": [v.name for v in field.enum_type.values]}
        if field.type != _F.TYPE_MESSAGE:
            return _constrained(SCALARS[field.type], field)
        message = _message(field)
        if message.full_name in WELL_KNOWN:
            return dict(WELL_KNOWN[message.full_name])
        return self.output_ref(message) if output else self.input_schema(message, set())

    def field_schema(self, field: FieldDescriptor, *, output: bool) -> Schema:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            return {
                "type": "object",
                "additionalProperties": self.value_schema(value, output=output),
            }
        item = self.value_schema(field, output=output)
        return {"type": "array", "items": item} if field.is_repeated else item

    def output_ref(self, message: Descriptor) -> Schema:
        """Responses carry every field without presence (EmitUnpopulated): all required."""
        if message.full_name not in self.components:
            self.components[message.full_name] = {}  # placed first: recursive messages
            properties = {f.json_name: self.field_schema(f, output=True) for f in message.fields}
            required = [f.json_name for f in message.fields if not f.has_presence]
            schema: Schema = {"type": "object", "properties": properties}
            if required:
                schema["required"] = required
            schema["additionalProperties"] = False
            self.components[message.full_name] = schema
        return _ref(message)

    def input_schema(self, message: Descriptor, excluded: set[str]) -> Schema:
        """A request body, inline: the fields it may carry, the constrained ones required."""
        fields = [f for f in message.fields if f.name not in excluded]
        schema: Schema = {
            "type": "object",
            "properties": {f.json_name: self.field_schema(f, output=False) for f in fields},
        }
        required = [f.json_name for f in fields if _is_required(f)]
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        return schema

    def query_parameters(
        self, message: Descriptor, excluded: set[str], prefix: str = ""
    ) -> list[Schema]:
        parameters: list[Schema] = []
        for field in message.fields:
            if field.name in excluded:
                continue
            name = prefix + field.json_name
            if query.is_nested_message(field) and prefix.count(".") < 3:
                parameters += self.query_parameters(_message(field), set(), name + ".")
                continue
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                continue  # a query cannot set a map
            parameter: Schema = {
                "name": name,
                "in": "query",
                "schema": self.field_schema(field, output=False),
            }
            if _is_required(field) and not prefix:
                parameter["required"] = True
            parameters.append(parameter)
        return parameters


def _is_required(field: FieldDescriptor) -> bool:
    c = _constraints(field)
    return bool(c and c.required)


def _descriptor(method: Method, output: bool = False) -> Descriptor:
    message_type = method.output_type if output else method.input_type
    return cast(Descriptor, message_type.DESCRIPTOR)


def _operation(
    builder: _Builder, method: Method, binding: HttpBinding, operation_id: str
) -> Schema:
    template = compile_template(binding.template)
    request = _descriptor(method)
    path_fields = set(template.variables)
    parameters = [
        {
            "name": variable,
            "in": "path",
            "required": True,
            "schema": builder.field_schema(query.resolve(request, variable)[-1], output=False),
        }
        for variable in template.variables
    ]
    operation: Schema = {"operationId": operation_id, "tags": [method.service.rsplit(".", 1)[-1]]}
    if binding.body == "*":
        body = builder.input_schema(request, {v.split(".")[0] for v in path_fields})
        operation["requestBody"] = _body(body)
    else:
        excluded = {v.split(".")[0] for v in path_fields} | (
            {binding.body} if binding.body else set()
        )
        parameters += builder.query_parameters(request, excluded)
        if binding.body:
            body_message = _message(request.fields_by_name[binding.body])
            operation["requestBody"] = _body(builder.input_schema(body_message, set()))
    if parameters:
        operation["parameters"] = parameters
    response = _descriptor(method, output=True)
    if binding.response_body:
        response = _message(response.fields_by_name[binding.response_body])
    operation["responses"] = {
        "200": _response("OK", builder.output_ref(response)),
        "default": _response("An error", {"$ref": "#/components/schemas/google.rpc.Status"}),
    }
    return operation


def _body(schema: Schema) -> Schema:
    return {"required": "required" in schema, "content": {"application/json": {"schema": schema}}}


def _response(description: str, schema: Schema) -> Schema:
    return {
        "description": description,
        "headers": {REQUEST_ID_HEADER: REQUEST_ID},
        "content": {"application/json": {"schema": schema}},
    }


def openapi_path(template: str) -> str:
    """ "/v1/{name=projects/*}:get" -> "/v1/{name}:get": OpenAPI names variables only."""
    out, depth, skipping = "", 0, False
    for char in template:
        if char == "{":
            depth, skipping = depth + 1, False
        elif char == "}":
            depth, skipping = depth - 1, False
        elif char == "=" and depth:
            skipping = True
            continue
        if not skipping:
            out += char
    return out


def document(methods: Iterable[Method]) -> Schema:
    builder = _Builder()
    paths: dict[str, dict[str, Schema]] = {}
    for method in methods:
        for index, binding in enumerate(method.http):
            suffix = f"_{index + 1}" if index else ""
            operation_id = f"{method.service.rsplit('.', 1)[-1]}_{method.name}{suffix}"
            operations = paths.setdefault(openapi_path(binding.template), {})
            operations[binding.verb.lower()] = _operation(builder, method, binding, operation_id)
    components = dict(sorted(builder.components.items()))
    components["google.rpc.Status"] = STATUS
    components["google.protobuf.Any"] = ANY
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "nbpresign",
            "version": "v1",
            "description": "REST routes from the google.api.http rules of nbpresign.v1; "
            "the same RPCs are served over gRPC and, for the SageMaker operations, AWS JSON 1.1.",
        },
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {"sigv4": SIGV4}},
        "security": [{"sigv4": []}],
    }


def render(methods: Iterable[Method]) -> bytes:
    return json.dumps(document(methods), indent=2).encode() + b"\n"


def serve(methods: Iterable[Method]) -> Handler:
    """GET /openapi.json. Anonymous, like gRPC reflection: it shows what the protos say."""
    body = render(methods)

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            error = MethodNotAllowed(request.method, ["GET", "HEAD"])
            return default_error_handler(error, PROTO_JSON, new_request_id())
        return web.Response(body=body, content_type="application/json")

    return handle
