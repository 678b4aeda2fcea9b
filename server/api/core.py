"""The core: one dispatch for every transport.

    Core.call(method, request, ctx)
      -> each interceptor in order: authorization (server.authorization), then validation
      -> the handler named after the RPC

The gRPC server and the in-process gateway transport both call `Core.call`, so a
request is validated, and later authorized, once, the same way, whatever it came in by.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from google.protobuf.message import Message

from nbpresign.server.api import constraints
from nbpresign.server.api.context import CallContext
from nbpresign.server.api.methods import Method

Handler = Callable[[Message, CallContext], Awaitable[Message]]
Interceptor = Callable[[Method, Message, CallContext, Handler], Awaitable[Message]]


async def validate_constraints(
    method: Method, request: Message, ctx: CallContext, proceed: Handler
) -> Message:
    constraints.check(request)
    return await proceed(request, ctx)


def handler_table(
    methods: Iterable[Method], implementations: Sequence[object]
) -> dict[str, Handler]:
    """Maps each method path to the implementation's coroutine of the same name.

    Fails at start-up, not at call time, when an RPC has no implementation.
    """
    table: dict[str, Handler] = {}
    for method in methods:
        found = [
            getattr(impl, method.name) for impl in implementations if hasattr(impl, method.name)
        ]
        if len(found) != 1:
            raise LookupError(f"{method.path} needs exactly one implementation, found {len(found)}")
        table[method.path] = found[0]
    return table


class Core:
    def __init__(
        self, handlers: Mapping[str, Handler], *, interceptors: Sequence[Interceptor]
    ) -> None:
        self._handlers = dict(handlers)
        self._interceptors = list(interceptors)

    async def call(self, method: Method, request: Message, ctx: CallContext) -> Message:
        return await self._run(0, method, request, ctx)

    async def _run(self, index: int, method: Method, request: Message, ctx: CallContext) -> Message:
        if index == len(self._interceptors):
            return await self._handlers[method.path](request, ctx)

        async def proceed(req: Message, c: CallContext) -> Message:
            return await self._run(index + 1, method, req, c)

        return await self._interceptors[index](method, request, ctx, proceed)
