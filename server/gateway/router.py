"""Requests -> RPCs, in two dialects, both tables built from the descriptors (api.methods).

    AWS JSON  POST / with X-Amz-Target: SageMaker.<RPC>     build_targets(AWS_JSON_METHODS)
    REST      a method and a path matching an RPC's google.api.http rule    build_rest(METHODS)

The dialect is chosen from the request alone, before routing (a request with an
X-Amz-Target, or to "/", speaks AWS JSON; any other speaks REST), so that a routing
failure already answers in the caller's dialect. Routing failures are ServiceErrors like
any other: an unknown target is UnknownOperationException, an unknown REST path NO_ROUTE
(404), a known path with the wrong method METHOD_NOT_ALLOWED (405, with Allow).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError
from nbpresign.server.api.methods import HttpBinding, Method
from nbpresign.server.gateway import query
from nbpresign.server.gateway.errors import MethodNotAllowed
from nbpresign.server.gateway.marshal import AWS_JSON, PROTO_JSON
from nbpresign.server.gateway.path_template import PathTemplate, compile_template

TARGET_PREFIX = "SageMaker"  # the service model's targetPrefix
TARGET_HEADER = "X-Amz-Target"


@dataclass(frozen=True)
class RestRoute:
    verb: str
    template: PathTemplate
    method: Method
    body: str  # "*", a message field of the request, or "" (none)
    response_body: str  # "" (the whole response) or a message field of it


@dataclass(frozen=True)
class Match:
    """What a request resolved to; `dialect` is the content type of its marshaler."""

    method: Method
    dialect: str
    variables: Mapping[str, str] = field(default_factory=dict)  # REST path variables
    body: str = "*"
    response_body: str = ""


def build_routes(methods: Iterable[Method], prefix: str = TARGET_PREFIX) -> dict[str, Method]:
    """{"SageMaker.CreatePresignedNotebookInstanceUrl": <Method ...>, ...}"""
    routes: dict[str, Method] = {}
    for method in methods:
        target = f"{prefix}.{method.name}"
        if target in routes:
            raise ValueError(f"two RPCs would share the target {target}")
        routes[target] = method
    return routes


def build_rest(methods: Iterable[Method]) -> tuple[RestRoute, ...]:
    """One route per HTTP rule; fails at start-up for a rule that names no field."""
    routes: list[RestRoute] = []
    seen: set[tuple[str, str]] = set()
    for method in methods:
        for binding in method.http:
            route = _rest_route(method, binding)
            key = (route.verb, route.template.regex.pattern)
            if key in seen:
                raise ValueError(f"two rules share {binding.verb} {binding.template}")
            seen.add(key)
            routes.append(route)
    return tuple(routes)


def _rest_route(method: Method, binding: HttpBinding) -> RestRoute:
    template = compile_template(binding.template)
    where = f"{method.name}'s rule {binding.verb} {binding.template}"
    for variable in template.variables:
        _field_at(method.input_type, variable, where)
    if binding.body not in ("", "*"):
        _message_field_at(method.input_type, binding.body, where)
    if binding.response_body:
        _message_field_at(method.output_type, binding.response_body, where)
    return RestRoute(binding.verb, template, method, binding.body, binding.response_body)


def _field_at(message_type: type[Message], path: str, where: str) -> FieldDescriptor:
    try:
        return query.resolve(cast(Descriptor, message_type.DESCRIPTOR), path)[-1]
    except ServiceError:
        raise ValueError(f"{where}: {message_type.DESCRIPTOR.name} has no field {path}") from None


def _message_field_at(message_type: type[Message], path: str, where: str) -> None:
    # The body (or response body) is read (or written) by a marshaler, which takes messages.
    if _field_at(message_type, path, where).type != FieldDescriptor.TYPE_MESSAGE:
        raise ValueError(f"{where}: {path} must be a message field")


class Router:
    def __init__(self, targets: Mapping[str, Method], rest: Sequence[RestRoute]) -> None:
        self._targets = dict(targets)
        self._rest = tuple(rest)

    @staticmethod
    def dialect(path: str, headers: Mapping[str, str]) -> str:
        return AWS_JSON if path == "/" or TARGET_HEADER in headers else PROTO_JSON

    def resolve(self, verb: str, path: str, headers: Mapping[str, str]) -> Match:
        """`path` as sent (percent-encoded)."""
        if self.dialect(path, headers) == AWS_JSON:
            return self._resolve_target(verb, path, headers.get(TARGET_HEADER))
        return self._resolve_rest(verb, path)

    def _resolve_target(self, verb: str, path: str, target: str | None) -> Match:
        if verb != "POST" or path != "/":
            raise errors.UNKNOWN_OPERATION("Requests go to POST / with an X-Amz-Target.")
        method = self._targets.get(target) if target else None
        if method is None:
            # As AWS answers: the code alone says it, the message is what was asked for.
            shown = "no X-Amz-Target header" if not target else f"'{target}'"
            raise errors.UNKNOWN_OPERATION(f"Unknown operation: {shown}")
        return Match(method, AWS_JSON)

    def _resolve_rest(self, verb: str, path: str) -> Match:
        allowed: list[str] = []
        for route in self._rest:
            variables = route.template.match(path)
            if variables is None:
                continue
            if route.verb == verb:
                return Match(route.method, PROTO_JSON, variables, route.body, route.response_body)
            allowed.append(route.verb)
        if allowed:
            raise MethodNotAllowed(verb, sorted(set(allowed)))
        raise errors.NO_ROUTE(f"No route for {verb} {path}.")
