"""Console sessions: a random opaque cookie, stored server-side by its hash.

The cookie is HttpOnly, SameSite=Strict, host-only (no Domain: never sent to a notebook
host) and Secure when the console is reached over https. A session ends at sign-out, after
IDLE_SECONDS unused or ABSOLUTE_SECONDS in all, and when the user's login profile (or the
user) is deleted: the database deletes the session with the profile.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from aiohttp import web

from nbpresign.server.api.clock import Clock
from nbpresign.server.iam.identities import Principal, user_arn
from nbpresign.server.iam.login_profiles import LoginProfile
from nbpresign.server.storage import ConsoleSession, Storage

COOKIE = "nbpresign-console"
ABSOLUTE_SECONDS = 12 * 3600
IDLE_SECONDS = 3600


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    csrf_token: str
    id_hash: str


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class ConsoleSessions:
    def __init__(self, storage: Storage, clock: Clock, account_id: str) -> None:
        self._storage = storage
        self._clock = clock
        self._account_id = account_id

    async def start(self, profile: LoginProfile) -> tuple[str, SignedIn]:
        """A new session for the profile's user: (the cookie's value, the session)."""
        value = secrets.token_urlsafe(32)
        now = self._clock()
        session = ConsoleSession(
            _hash(value), profile.profile_id, profile.user_name, secrets.token_urlsafe(32), now, now
        )
        await self._storage.add_console_session(session)
        return value, self._signed_in(session)

    async def find(self, request: web.BaseRequest) -> SignedIn | None:
        """The request's live session; a lookup by hash, so timing tells nothing of others."""
        value = request.cookies.get(COOKIE)
        if not value:
            return None
        now = self._clock()
        session = await self._storage.touch_console_session(
            _hash(value),
            idle_since=now - IDLE_SECONDS,
            absolute_since=now - ABSOLUTE_SECONDS,
            now=now,
        )
        return None if session is None else self._signed_in(session)

    async def end(self, signed_in: SignedIn) -> None:
        await self._storage.delete_console_session(signed_in.id_hash)

    def _signed_in(self, session: ConsoleSession) -> SignedIn:
        principal = Principal(
            user_arn(self._account_id, session.user_name), session.user_name, session.profile_id
        )
        return SignedIn(principal, session.csrf_token, session.id_hash)


def set_cookie(response: web.StreamResponse, value: str, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        value,
        path="/",
        max_age=ABSOLUTE_SECONDS,
        httponly=True,
        samesite="Strict",
        secure=secure,
    )


def clear_cookie(response: web.StreamResponse, *, secure: bool) -> None:
    response.del_cookie(COOKIE, path="/", httponly=True, samesite="Strict", secure=secure)
