"""X-Amz-Target -> RPC. The table is built from the proto descriptors (server.methods)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from nbpresign.common import errors
from nbpresign.server.api.methods import Method

TARGET_PREFIX = "SageMaker"  # the service model's targetPrefix


def build_routes(methods: Iterable[Method], prefix: str = TARGET_PREFIX) -> dict[str, Method]:
    """{"SageMaker.CreatePresignedNotebookInstanceUrl": <Method ...>, ...}"""
    routes: dict[str, Method] = {}
    for method in methods:
        target = f"{prefix}.{method.name}"
        if target in routes:
            raise ValueError(f"two RPCs would share the target {target}")
        routes[target] = method
    return routes


def resolve(routes: Mapping[str, Method], target: str | None) -> Method:
    method = routes.get(target) if target else None
    if method is None:
        # As AWS answers: the code alone says it, the message is what was asked for.
        shown = "no X-Amz-Target header" if not target else f"'{target}'"
        raise errors.UNKNOWN_OPERATION(f"Unknown operation: {shown}")
    return method
