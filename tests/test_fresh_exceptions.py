"""No exception instance is kept and raised twice (STYLE.md 10): its traceback would grow
with every raise, keeping each raise's frames (and their requests) alive, and it would be
state shared between requests. Every refusal is built fresh, from nbpresign.common.errors.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from nbpresign.common import errors
from nbpresign.server.api import constraints
from nbpresign.server.api.pagination import PageTokens, query_binding
from nbpresign.server.auth import sigv4
from nbpresign.server.gateway import marshal, router
from nbpresign.server.storage import InstanceQuery
from nbpresign.v1 import notebook_instances_pb2 as nb
from nbpresign.v1 import presign_pb2

ROOT = Path(__file__).resolve().parent.parent
ROUTER = router.Router({}, ())
PACKAGES = ("nbpresign.common", "nbpresign.client", "nbpresign.server", "nbpresign.cli")


def modules() -> Iterator[ModuleType]:
    for name in PACKAGES:
        package = importlib.import_module(name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            yield importlib.import_module(info.name)


def kept_values(module: ModuleType) -> Iterator[tuple[str, object]]:
    """Module globals, class attributes, function defaults, and what containers among
    them hold: everywhere an instance would outlive the call that made it."""
    for name, value in vars(module).items():
        yield name, value
        if isinstance(value, dict):
            yield from ((f"{name}[{k!r}]", v) for k, v in value.items())
        if isinstance(value, list | tuple | set | frozenset):
            yield from ((f"{name}[]", v) for v in value)
        if inspect.isclass(value) and value.__module__ == module.__name__:
            yield from ((f"{name}.{k}", v) for k, v in vars(value).items())
        if inspect.isfunction(value):
            yield from ((f"{name}()", v) for v in value.__defaults__ or ())
            yield from ((f"{name}()", v) for v in (value.__kwdefaults__ or {}).values())


def test_no_module_keeps_an_exception_instance() -> None:
    kept = [
        f"{module.__name__}.{name}"
        for module in modules()
        for name, value in kept_values(module)
        if isinstance(value, BaseException)
    ]
    assert kept == []


def test_the_scan_finds_a_kept_instance() -> None:
    # The check above could pass by finding nothing at all: it does find one.
    module = ModuleType("example")
    module.SHARED = errors.VALIDATION("kept")  # type: ignore[attr-defined]
    assert [name for name, v in kept_values(module) if isinstance(v, BaseException)] == ["SHARED"]


CACHES = {"cache", "lru_cache", "cached_property"}


def cached_error_factories(tree: ast.AST) -> Iterator[str]:
    """Functions under a cache whose return annotation names an error: a cache would hand
    out one instance again and again."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.returns is None:
            continue
        decorators = {ast.unparse(d).split("(")[0].rsplit(".", 1)[-1] for d in node.decorator_list}
        returns = ast.unparse(node.returns)
        if decorators & CACHES and ("Error" in returns or "Exception" in returns):
            yield node.name


def test_no_cached_function_returns_an_error() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{name}"
        for folder in ("common", "client", "server", "cli")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for name in cached_error_factories(ast.parse(path.read_text()))
    ]
    assert found == []
    assert list(cached_error_factories(ast.parse("@cache\ndef f() -> ServiceError: ..."))) == ["f"]


def _refusals() -> list[tuple[str, Callable[[], object]]]:
    query = InstanceQuery(limit=1)
    return [
        ("missing authentication", lambda: sigv4.parse_authorization(None)),
        ("incomplete signature", lambda: sigv4.parse_authorization("Basic x")),
        ("not JSON", lambda: marshal.parse(b"{", nb.ListNotebookInstancesRequest)),
        ("too deep", lambda: marshal.parse(b"[" * 100, nb.ListNotebookInstancesRequest)),
        ("unknown target", lambda: ROUTER.resolve("POST", "/", {"X-Amz-Target": "SageMaker.Nope"})),
        ("no REST route", lambda: ROUTER.resolve("GET", "/nope", {})),
        ("bad token", lambda: PageTokens(b"k" * 32).decode("forged", query_binding(query))),
        (
            "constraint",
            lambda: constraints.check(presign_pb2.CreatePresignedNotebookInstanceUrlRequest()),
        ),
    ]


@pytest.mark.parametrize(("kind", "refuse"), _refusals(), ids=[k for k, _ in _refusals()])
def test_the_same_refusal_twice_is_two_errors_with_tracebacks_that_do_not_grow(
    kind: str, refuse: Callable[[], object]
) -> None:
    caught = []
    for _ in range(3):
        with pytest.raises(errors.ServiceError) as raised:
            refuse()
        caught.append(raised.value)
    assert len({id(error) for error in caught}) == 3, kind
    depths = [len(traceback.extract_tb(error.__traceback__)) for error in caught]
    assert depths[0] == depths[1] == depths[2], (kind, depths)
