"""Property-based fuzzing of the AWS JSON gateway of a real `serve`, over raw sockets.

Whatever arrives (any X-Amz-Target, content type, header, Host, body; unsigned, signed
with a made-up signature, or signed for real), the answer is a 2xx or a 4xx in AWS JSON
({"__type", "message"} for a failure; google.rpc.Status JSON for a request that speaks
REST) with an x-amzn-RequestId, and the server still answers afterwards. Signed cases carry arbitrary JSON for every operation the gateway
offers, so they reach the core: the marshaller, the constraints, pagination, storage.

Runs on SQLite and on PostgreSQL (the session `server` fixture), deterministically
(derandomize) with a fixed budget; the fixture asserts the server logged no traceback.
"""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbpresign.client import Client, NbpresignError
from nbpresign.server.api.methods import AWS_JSON_METHODS, Method
from nbpresign.server.gateway.nesting import MAX_DEPTH
from nbpresign.v1 import constraints_pb2

from conftest import Server, exchange, raw_request, sign_http

JSON_11 = "application/x-amz-json-1.1"
REST_JSON = "application/json"
OPERATIONS = {m.name: m for m in AWS_JSON_METHODS}
# The codes of a refusal before the core: a signed case must get past them.
AUTHENTICATION = {
    "MissingAuthenticationToken",
    "IncompleteSignature",
    "InvalidSignatureException",
    "UnrecognizedClientException",
}
# Headers that change how the request is framed, not what it says: fuzzing them tests
# aiohttp's HTTP parser, whose own answers are not the gateway's.
FRAMING = {b"content-length", b"transfer-encoding", b"connection", b"expect", b"upgrade", b"host"}
# About 30 s for both tests on one backend on a quiet 2-core machine (a request each).
BUDGET = settings(
    derandomize=True,  # the same examples on every run: CI fails only for a real change
    database=None,
    deadline=None,
    max_examples=1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- values ------------------------------------------------------------------------------
any_char = st.characters(exclude_categories=())  # surrogates and NUL included
words = st.sampled_from(
    [
        "",
        "\0",
        "a\0b",
        "\ud800",
        "nb\udfff",
        "fuzz",
        "Name",
        "CreationTime",
        "Status",
        "Ascending",
        "Descending",
        "InService",
        "Stopped",
        "http://127.0.0.1:9/",
        "ftp://x/",
        "x" * 64,
        "é" * 63,
    ]
)
names = st.from_regex(r"fuzz-[a-z0-9](-*[a-z0-9]){0,20}", fullmatch=True)
texts = st.one_of(st.text(any_char, max_size=40), words, names)
huge = st.sampled_from([2**31, 2**63, 2**64, -(2**63) - 1, 10**300, 10**4000, -(10**4000)])
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    huge,
    st.floats(),  # NaN and the infinities included: Python's json writes and reads them
    st.sampled_from([0, 1, 100, 101, 1799, 1800, 43200, 43201, -1, 1.5, 1e308, -1e308]),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@dataclass(frozen=True)
class Known:
    """What exists in the service, so that valid requests find something."""

    instance: str = "fuzz"  # a registered instance's name
    arn: str = ""  # its ARN
    next_token: str = ""  # a NextToken the service issued (ListNotebookInstances, MaxResults 1)


def member_value(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    """Mostly a value of the member's own type, sometimes any JSON at all."""
    typed = {FieldDescriptor.TYPE_STRING: texts, FieldDescriptor.TYPE_BOOL: st.booleans()}
    own = typed.get(field.type, numbers)  # integers, and timestamps in epoch seconds
    return st.one_of(own, own, own, json_values)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# What the old, unauthenticated tokens were (base64url JSON [sort, value, key]), holding
# anything at all: a service that parses what a caller made gets deep JSON and huge numbers.
made_up_tokens = st.one_of(
    st.builds(lambda v: b64(json.dumps(["name:asc", v, "nb"]).encode()), json_values),
    st.builds(lambda v: b64(json.dumps(v).encode()), json_values),
    st.sampled_from([b64(b"[" * 5000), b64(b'["name:asc", 1' + b"0" * 5000 + b', "k"]')]),
)


def valid_value(field: FieldDescriptor, known: Known) -> st.SearchStrategy[Any]:
    """A value the field's constraints accept, read from its (nbpresign.v1.constraints)."""
    c = field.GetOptions().Extensions[constraints_pb2.constraints]
    if field.is_repeated:
        fewest = c.min_items if c.HasField("min_items") else 0
        return st.lists(valid_item(field, c, known), min_size=fewest, max_size=3)
    return valid_item(field, c, known)


def valid_item(
    field: FieldDescriptor, c: constraints_pb2.FieldConstraints, known: Known
) -> st.SearchStrategy[Any]:
    if field.json_name == "NextToken":
        token = known.next_token or "A"
        return st.sampled_from([token, token[:-1], token + "A", token[::-1]])
    if field.json_name == "ResourceArn" and known.arn:
        return st.one_of(st.just(known.arn), st.just(known.arn + "x"), st.from_regex(c.pattern))
    if field.type == FieldDescriptor.TYPE_STRING:
        return valid_string(field, c, known)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        message = field.message_type
        assert message is not None
        if message.full_name == "google.protobuf.Timestamp":
            return st.floats(0, 4e9) | st.integers(0, 4 * 10**9)
        return st.fixed_dictionaries({f.json_name: valid_value(f, known) for f in message.fields})
    low = c.min_value if c.HasField("min_value") else -(2**31)
    high = c.max_value if c.HasField("max_value") else 2**31 - 1
    return st.integers(low, high)


def valid_string(
    field: FieldDescriptor, c: constraints_pb2.FieldConstraints, known: Known
) -> st.SearchStrategy[str]:
    shortest = c.min_length if c.HasField("min_length") else 0
    longest = c.max_length if c.HasField("max_length") else 100
    if c.allowed_values:
        return st.sampled_from(list(c.allowed_values))
    if "\\p{" in c.pattern:  # Java's Unicode classes, which Python's re lacks
        alphabet = st.characters(categories=["L", "Zs", "N"], include_characters="_.:/=+-@")
        return st.text(alphabet, min_size=shortest, max_size=min(longest, 40))
    if c.pattern:
        matching = st.from_regex(c.pattern, fullmatch=True)
        matching = matching.filter(lambda v: shortest <= len(v) <= longest)
        if field.json_name == "NotebookInstanceName":
            return st.one_of(st.just(known.instance), st.just(known.instance.upper()), matching)
        return matching
    return st.text(min_size=shortest, max_size=min(longest, 40))


def injected(value: str, where: int, what: str) -> str:
    """`what` put into `value` at a position (modulo its length)."""
    at = where % (len(value) + 1)
    return value[:at] + what + value[at:]


NASTY = st.sampled_from(["\0", "\ud800", "\0", "\udfff", "\x01", "\u2028", "é"])


def corrupted(field: FieldDescriptor, known: Known) -> st.SearchStrategy[Any]:
    """A value one step from valid: NUL or a lone surrogate inside a valid string (in a
    list or a nested message too), a huge or fractional number, a made-up NextToken, a
    list of too many, or any JSON at all."""
    if field.json_name == "NextToken":
        return st.one_of(made_up_tokens, member_value(field))
    if field.is_repeated:
        c = field.GetOptions().Extensions[constraints_pb2.constraints]
        item = valid_item(field, c, known)
        one_bad = st.builds(
            lambda a, b: [*a, b], st.lists(item, max_size=2), corrupted_item(field, c, known)
        )
        return st.one_of(one_bad, st.lists(item, min_size=51, max_size=60), member_value(field))
    c = field.GetOptions().Extensions[constraints_pb2.constraints]
    return st.one_of(corrupted_item(field, c, known), member_value(field))


def corrupted_item(
    field: FieldDescriptor, c: constraints_pb2.FieldConstraints, known: Known
) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_STRING:
        return st.builds(injected, valid_string(field, c, known), st.integers(0, 100), NASTY)
    message = field.message_type
    if message is None or message.full_name == "google.protobuf.Timestamp":
        return member_value(field)
    inner = list(message.fields)

    @st.composite
    def one_member_off(draw: st.DrawFn) -> dict[str, Any]:
        valid = draw(valid_item(field, c, known))
        bad = draw(st.sampled_from(inner))
        return {**valid, bad.json_name: draw(corrupted(bad, known))}

    return one_member_off()


@st.composite
def documents(draw: st.DrawFn, method: Method, known: Known) -> dict[str, Any]:
    """Valid members; valid but one member corrupted; or anything, unknown members too."""
    fields = fields_of(method)
    valid = draw(
        st.fixed_dictionaries(
            {f.json_name: valid_value(f, known) for f in fields if _required(f)},
            optional={f.json_name: valid_value(f, known) for f in fields if not _required(f)},
        )
    )
    kind = draw(st.sampled_from(["valid", "corrupted", "corrupted", "corrupted", "anything"]))
    if kind == "valid" or not fields:
        return valid
    if kind == "corrupted":
        field = draw(st.sampled_from(fields))
        return {**valid, field.json_name: draw(corrupted(field, known))}
    anything = st.fixed_dictionaries(
        {},
        optional={f.json_name: st.one_of(valid_value(f, known), member_value(f)) for f in fields},
    )
    return {**draw(st.dictionaries(texts, json_values, max_size=2)), **draw(anything)}


def fields_of(method: Method) -> list[FieldDescriptor]:
    return list(cast(Descriptor, method.input_type.DESCRIPTOR).fields)


def _required(field: FieldDescriptor) -> bool:
    return bool(field.GetOptions().Extensions[constraints_pb2.constraints].required)


def nested(depth: int, closed: bool) -> bytes:
    return b'{"NextToken": ' + b"[" * depth + (b"]" * depth if closed else b"") + b"}"


raw_numbers = st.from_regex(
    r"-?(0|[1-9][0-9]{0,6000})(\.[0-9]{1,40})?([eE][+-]?[0-9]{1,7})?", fullmatch=True
)


@st.composite
def bodies(draw: st.DrawFn, method: Method, known: Known = Known()) -> bytes:
    """JSON for `method`, written plainly, with surrogates as raw (invalid UTF-8) bytes, or
    broken on purpose: deep, a number json cannot hold, not JSON at all."""
    kind = draw(st.sampled_from(["json"] * 6 + ["raw utf-8", "deep", "number", "bytes"]))
    if kind == "json":
        return json.dumps(draw(documents(method, known))).encode()
    if kind == "raw utf-8":
        text = json.dumps(draw(documents(method, known)), ensure_ascii=False)
        return text.encode("utf-8", "surrogatepass")
    if kind == "deep":
        depth = draw(st.sampled_from([MAX_DEPTH, MAX_DEPTH + 1, 1001, 20_000]))
        return nested(depth, draw(st.booleans()))
    if kind == "number":
        field = draw(st.sampled_from(fields_of(method)))
        return b'{"%s": %s}' % (field.json_name.encode(), draw(raw_numbers).encode())
    return draw(st.binary(max_size=64))


# --- requests ----------------------------------------------------------------------------
# What an HTTP parser lets through in a header value: visible ASCII, space, tab, obs-text.
header_values = st.binary(max_size=40).map(
    lambda b: bytes(c for c in b if c == 9 or 32 <= c != 127)
)
header_names = st.from_regex(rb"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}", fullmatch=True).filter(
    lambda name: name.lower() not in FRAMING
)


def header_text(text: str) -> bytes:
    """A str as header bytes: UTF-8, without what would end or break the header."""
    raw = text.encode("utf-8", "surrogatepass")
    return bytes(c for c in raw if c == 9 or 32 <= c != 127)


@dataclass
class Answer:
    status: int
    payload: dict[str, Any]

    @property
    def code(self) -> str:
        return str(self.payload.get("__type", self.status))


# A failure in each dialect: AWS JSON's {"__type", "message"}; for a request that speaks
# REST (no X-Amz-Target, a path other than "/"), google.rpc.Status JSON.
FAILURE_MEMBERS: dict[str, dict[str, type]] = {
    JSON_11: {"__type": str, "message": str},
    REST_JSON: {"code": int, "message": str, "details": list},
}


def console_page(request: bytes) -> bool:
    """A browser's GET of the console's pages on the API host: answered in HTML."""
    verb, _, rest = request.partition(b" ")
    path = rest.partition(b" ")[0].partition(b"?")[0]
    return verb in (b"GET", b"HEAD") and (path == b"/" or path.startswith(b"/_nbpresign/"))


def send(server: Server, request: bytes) -> Answer:
    status, headers, body = exchange(server.http_port, request)
    assert 200 <= status < 300 or 400 <= status < 500, (status, body)
    content_type = headers.get("content-type", "")
    if content_type.startswith("text/html") and console_page(request):
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), headers
        return Answer(status, {})
    assert content_type in FAILURE_MEMBERS, (status, headers, body)
    assert headers.get("x-amzn-requestid"), headers
    payload = json.loads(body)
    assert isinstance(payload, dict)
    if status >= 400:
        members = FAILURE_MEMBERS[content_type]
        assert set(payload) == set(members), payload
        assert all(isinstance(payload[k], kind) for k, kind in members.items()), payload
        if content_type == REST_JSON:  # the same code as over AWS JSON, in the ErrorInfo
            payload["__type"] = next(d["reason"] for d in payload["details"] if "reason" in d)
    return Answer(status, payload)


def host_of(server: Server) -> bytes:
    return f"127.0.0.1:{server.http_port}".encode()


def signed(server: Server, target: str, body: bytes) -> list[tuple[bytes, bytes]]:
    headers = sign_http(
        server.identity,
        server.endpoint + "/",
        body,
        {"Content-Type": JSON_11, "X-Amz-Target": target},
    )
    return [(k.encode(), v.encode()) for k, v in headers.items() if k.lower() != "host"]


def still_answers(server: Server) -> None:
    body = b'{"MaxResults": 1}'
    answer = send(
        server,
        raw_request(host_of(server), signed(server, "SageMaker.ListNotebookInstances", body), body),
    )
    assert answer.status == 200, answer


@pytest.fixture
def registered_names(server: Server) -> Iterator[set[str]]:
    """What the fuzzer registered, deleted afterwards: other tests list the same service."""
    found: set[str] = set()
    yield found
    with Client(server.grpc_target, identity=server.identity) as client:
        for name in found:
            for step in (client.stop_notebook_instance, client.delete_notebook_instance):
                with contextlib.suppress(NbpresignError):
                    step(name)


# --- the properties ----------------------------------------------------------------------
def test_signed_json_for_every_operation_reaches_the_core(
    server: Server, registered_names: set[str]
) -> None:
    seen: Counter[str] = Counter()
    prefix = f"fuzz-{uuid.uuid4().hex[:8]}"
    with Client(server.grpc_target, identity=server.identity) as client:
        for name in (f"{prefix}-a", f"{prefix}-b"):  # so Describe, Stop, presign find one
            client.register_notebook_instance(name, "http://127.0.0.1:9/")
            registered_names.add(name)
        token = client.list_notebook_instances(max_results=1).next_token
        arn = client.describe_notebook_instance(f"{prefix}-a").notebook_instance_arn
    known = Known(instance=f"{prefix}-a", arn=arn, next_token=token)

    @BUDGET
    @given(data=st.data(), operation=st.sampled_from(sorted(OPERATIONS)))
    def run(data: st.DataObject, operation: str) -> None:
        body = data.draw(bodies(OPERATIONS[operation], known))
        target = f"SageMaker.{operation}"
        answer = send(server, raw_request(host_of(server), signed(server, target, body), body))
        assert answer.code not in AUTHENTICATION, answer
        seen[f"{operation} {answer.code}"] += 1
        if operation == "RegisterNotebookInstance" and answer.status == 200:
            registered_names.add(json.loads(body)["NotebookInstanceName"])

    run()
    still_answers(server)
    codes = Counter(key.split(" ", 1)[1] for key in seen)
    # Deep enough to count: successes, and each kind of refusal the core makes.
    assert codes["200"] and codes["ValidationException"] and codes["SerializationException"], seen
    assert {key.split(" ")[0] for key in seen if key.endswith(" 200")} >= {"ListNotebookInstances"}


ODD_HOSTS = st.sampled_from([b"[", b"]", b"[::1", b"[::1]:80", b"a b", b"\xff", b"h\xc3\xa9", b""])
TARGETS = st.sampled_from(sorted(OPERATIONS)).map(lambda o: f"SageMaker.{o}")
CONTENT_TYPES = st.sampled_from(
    ["application/json", "text/plain", "", "application/x-amz-json-1.0"]
)
signatures = st.one_of(st.from_regex(rb"[0-9a-f]{64}", fullmatch=True), header_values)
PARTS = ["method", "path", "host", "target", "content type", "headers", "date", "everything"]


@st.composite
def requests(draw: st.DrawFn, server: Server) -> bytes:
    """Any request line, headers and body an HTTP parser lets through, unsigned, with a
    made-up signature (for the admin's key id or an unknown one), or signed for real.
    Mostly one part is wrong at a time (or none), so that each check in turn is reached."""
    wrong = draw(st.sampled_from(["nothing"] * 4 + PARTS))

    def pick(part: str, good: Any, other: st.SearchStrategy[Any]) -> Any:
        return draw(other) if wrong in (part, "everything") else good

    method = pick("method", b"POST", st.sampled_from([b"GET", b"PUT", b"DELETE", b"OPTIONS"]))
    path = pick("path", b"/", st.sampled_from([b"/?a=b", b"//", b"/x", b"/%00", b"/%zz", b"/?%ff"]))
    host = pick("host", host_of(server), st.one_of(header_values, ODD_HOSTS))
    if b"localhost" in host.lower():  # a notebook's host: the proxy's, not the gateway's
        host = host_of(server)
    target = pick("target", draw(TARGETS), st.one_of(st.none(), texts))
    content_type = pick("content type", JSON_11, st.one_of(CONTENT_TYPES, texts))
    headers = [(b"Content-Type", header_text(content_type))]
    if target is not None:
        headers.append((b"X-Amz-Target", header_text(target)))
    headers += pick("headers", [], st.lists(st.tuples(header_names, header_values), max_size=3))
    body = draw(bodies(OPERATIONS[draw(st.sampled_from(sorted(OPERATIONS)))]))
    auth = draw(st.sampled_from(["real", "none", "garbage", "made up", "unknown key"]))
    now = datetime.now(UTC)
    date = pick("date", now.strftime("%Y%m%dT%H%M%SZ").encode(), header_values)
    if auth == "garbage":
        headers.append((b"Authorization", draw(header_values)))
    elif auth in ("made up", "unknown key"):
        key_id = server.identity.credentials.access_key.encode()
        if auth == "unknown key":
            key_id = b"AKIA" + draw(st.from_regex(rb"[A-Z0-9]{16}", fullmatch=True))
        names = [b"host", b"x-amz-date", *(name.lower() for name, _ in headers)]
        signed_names = b";".join(draw(st.lists(st.sampled_from(names), min_size=2, unique=True)))
        headers += [
            (b"X-Amz-Date", date),
            (b"Authorization", authorization(key_id, now, signed_names, draw(signatures))),
        ]
    elif auth == "real":
        as_text = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers}
        signed_headers = sign_http(server.identity, server.endpoint + "/", body, as_text)
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in signed_headers.items()
            if k.lower() != "host"
        ]
    return raw_request(host, headers, body, line=method + b" " + path + b" HTTP/1.1")


def authorization(key_id: bytes, now: datetime, signed_names: bytes, signature: bytes) -> bytes:
    """A well-formed Authorization with any signature: what anyone who saw a request has."""
    scope = now.strftime("/%Y%m%d/us-east-1/sagemaker/aws4_request").encode()
    return (
        b"AWS4-HMAC-SHA256 Credential=" + key_id + scope + b", "
        b"SignedHeaders=" + signed_names + b", Signature=" + signature
    )


def test_any_request_gets_an_aws_json_answer(server: Server, registered_names: set[str]) -> None:
    seen: Counter[str] = Counter()

    @settings(BUDGET, max_examples=600)
    @given(request=requests(server))
    def run(request: bytes) -> None:
        answer = send(server, request)
        seen[answer.code] += 1
        head, _, body = request.partition(b"\r\n\r\n")
        if (
            answer.status == 200
            and answer.payload
            and b"SageMaker.RegisterNotebookInstance" in head
        ):
            registered_names.add(json.loads(body)["NotebookInstanceName"])

    run()
    still_answers(server)
    # Refusals of many kinds, and successes: not one refusal many times.
    assert "200" in seen and len(set(seen) & AUTHENTICATION) >= 3 and len(seen) >= 6, seen
