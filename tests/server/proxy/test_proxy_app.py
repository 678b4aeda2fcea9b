"""NotebookProxy's re-check of open WebSockets: one admission per caller and notebook."""

from __future__ import annotations

import contextlib
from typing import Any, cast

from nbpresign.common import errors
from nbpresign.server.api.context import CallContext
from nbpresign.server.iam.identities import Principal
from nbpresign.server.notebooks.admission import Admission
from nbpresign.server.proxy.app import NotebookProxy
from nbpresign.server.proxy.sockets import Relay


class CountingAdmission:
    """Admits everyone but `refused`, counting what it was asked."""

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.asked: list[tuple[CallContext, str]] = []

    async def admit(self, ctx: CallContext, instance_key: str, incarnation: str) -> None:
        self.asked.append((ctx, instance_key))
        if ctx.principal is not None and ctx.principal.user_name == self.refused:
            raise errors.ACCESS_DENIED("no")


def caller(user: str, ip: str = "10.0.0.1") -> CallContext:
    return CallContext(source_ip=ip, principal=Principal(f"arn:aws:iam::1:user/{user}", user, "AK"))


async def test_a_browsers_many_sockets_are_rechecked_once() -> None:
    admission = CountingAdmission(refused="bob")
    unused = cast(Any, None)
    proxy = NotebookProxy(unused, unused, unused, cast(Admission, admission), unused)
    alice = [Relay("nb", caller("alice"), "1") for _ in range(25)]
    bob = [Relay("nb", caller("bob"), "1") for _ in range(25)]
    elsewhere = [
        Relay("other", caller("alice"), "1"),
        Relay("nb", caller("alice", "10.0.0.2"), "1"),
        Relay("nb", caller("alice"), "2"),  # a socket of the instance's life before
    ]
    with contextlib.ExitStack() as stack:
        for relay in alice + bob + elsewhere:
            stack.enter_context(proxy.open_sockets.registered(relay))
        await proxy.recheck("alice")
        await proxy.recheck("bob")
    # alice: on nb, on another notebook, from another address, in another life; bob: on nb.
    assert len(admission.asked) == 5
    assert all(r.revoked.is_set() for r in bob)
    assert not any(r.revoked.is_set() for r in alice + elsewhere)
