"""NotebookProxy: serves every request the front routes to a notebook host.

    GET ...?authToken=T    redeem: verify T, admit, use it up, set the session cookie, redirect
    any other request      needs a live session for this notebook and admission;
                           state-changing requests and WebSockets need the notebook's Origin;
                           then a place within the notebook's and the session's bounds
                           (limits); then it is forwarded to the instance's Jupyter server

Admission (server.notebooks.admission) decides, the same way at redemption, on every
request and at every re-check of an open WebSocket, whether the principal who minted the
URL may still reach the notebook from the browser's address. A change to the principal
re-checks its open WebSockets; a stopped or deleted instance closes its own at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from nbpresign.common import errors
from nbpresign.common.errors import ErrorCode, ServiceError
from nbpresign.server.api.clock import Clock
from nbpresign.server.api.context import CallContext
from nbpresign.server.api.failures import failure
from nbpresign.server.auth.source_ip import Network, http_caller
from nbpresign.server.iam.identities import Principal
from nbpresign.server.notebooks import events, sessions, tokens
from nbpresign.server.notebooks.admission import Admission
from nbpresign.server.notebooks.signing_keys import KeyStore
from nbpresign.server.notebooks.site import Site
from nbpresign.server.notebooks.urls import NotebookAddress
from nbpresign.server.proxy import locations, pages
from nbpresign.server.proxy.forward import forward_http
from nbpresign.server.proxy.limits import (
    DEFAULT_LIMITS,
    Busy,
    Limits,
    requests_budget,
    websockets_budget,
)
from nbpresign.server.proxy.sockets import OpenSockets, Relay
from nbpresign.server.proxy.upstream import Upstream
from nbpresign.server.proxy.websocket import relay_websocket
from nbpresign.server.storage import RESYNC, Storage

log = logging.getLogger(__name__)

TOKEN_PARAMETER = "authToken"  # noqa: S105 - the query parameter's name, not a secret
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RECHECK_SECONDS = 10.0

# Admission's refusals -> what the sign-in page tells the person (pages.SIGN_IN_REASONS).
REFUSAL_REASONS: dict[ErrorCode, str] = {
    errors.UNRECOGNIZED_CLIENT: "session",  # the key that minted the URL is gone
    errors.EXPIRED_TOKEN: "session",  # made for an earlier life of the instance
    errors.MISSING_AUTHENTICATION: "session",
    errors.ACCESS_DENIED: "denied",  # a policy, or an address range, refuses it now
    errors.RECORD_NOT_FOUND: "unavailable",  # deleted
    errors.WRONG_STATUS: "unavailable",  # stopped
}


class Refused(Exception):
    """The request may not reach the notebook; reason is a key of pages.SIGN_IN_REASONS."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Where a refused browser goes: (the request, a key of pages.SIGN_IN_REASONS) -> a URL.
SignInLocation = Callable[[web.BaseRequest, str], str]


def relative_sign_in(request: web.BaseRequest, reason: str) -> str:
    """The sign-in page on the host the request came to."""
    return f"{pages.SIGN_IN_PATH}?{urlencode({'reason': reason})}"


KEEPALIVE_SECONDS = 15.0  # an idle connection to a Jupyter server, kept for the next request


def default_client() -> aiohttp.ClientSession:
    """The proxy makes two: one for plain requests, one for WebSockets, so that open
    WebSockets never hold the connections requests need. Neither has a limit of its own
    (aiohttp's default is 100 for all notebooks together): limits.Limits bounds each
    notebook and each session instead."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS),
        # Jupyter's cookies belong to the browser: a shared jar would hand one user's
        # cookies to the next.
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,  # bodies pass through as Jupyter encoded them
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
    )


class NotebookProxy:
    def __init__(
        self,
        site: Site,
        keys: KeyStore,
        clock: Clock,
        admission: Admission,
        storage: Storage,
        *,
        sign_in_location: SignInLocation | None = None,
        trusted_proxies: Sequence[Network] = (),
        limits: Limits = DEFAULT_LIMITS,
        client_factory: Callable[[], aiohttp.ClientSession] = default_client,
    ) -> None:
        self._admission = admission
        self._storage = storage
        self._trusted = tuple(trusted_proxies)
        self._site = site
        self._keys = keys
        self._clock = clock
        self._sign_in_location = sign_in_location or relative_sign_in
        self._client_factory = client_factory
        self._client: aiohttp.ClientSession | None = None
        self._websocket_client: aiohttp.ClientSession | None = None
        self.requests = requests_budget(limits)
        self.websockets = websockets_budget(limits)
        self.open_sockets = OpenSockets()
        self._recheck_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Re-checks open WebSockets every RECHECK_SECONDS, for what no event reports: a
        change made through another process that shares a SQLite file, say."""
        self._recheck_task = asyncio.ensure_future(self._recheck_forever())

    async def _recheck_forever(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            try:
                await self._recheck(self.open_sockets.all())
            except Exception:
                log.exception("re-checking open WebSockets failed")

    async def on_event(self, event: str) -> None:
        """An event from any replica (server.notebooks.events)."""
        if event == RESYNC:  # events may have been lost while the listener was away
            await self._recheck(self.open_sockets.all())
        elif event.startswith(events.INSTANCE):
            await self.revoke(event[len(events.INSTANCE) :])
        elif event.startswith(events.USER):
            await self.recheck(event[len(events.USER) :])
        elif event.startswith(events.TAGS):
            await self._recheck(self.open_sockets.of_instance(event[len(events.TAGS) :]))

    async def close(self) -> None:
        if self._recheck_task is not None:
            self._recheck_task.cancel()
        self.open_sockets.revoke_all()
        for client in (self._client, self._websocket_client):
            if client is not None:
                await client.close()

    async def revoke(self, key: str) -> None:
        """Access to instance `key` ended (stopped, deleted): close its WebSockets now."""
        self.open_sockets.revoke_instance(key)

    async def recheck(self, user_name: str) -> None:
        """Something about this user changed: close the WebSockets it no longer allows."""
        await self._recheck(self.open_sockets.of_user(user_name))

    async def _recheck(self, relays: list[Relay]) -> None:
        """One admission per caller and notebook, however many sockets they share (a
        browser has one for each tab and kernel), and the event loop's other work between
        them: storage reads need not yield, and thousands at once would stall every request."""
        shared: dict[tuple[CallContext, str, str], list[Relay]] = {}
        for relay in relays:
            shared.setdefault((relay.ctx, relay.instance_key, relay.incarnation), []).append(relay)
        for (ctx, key, incarnation), same in shared.items():
            try:
                await self._admission.admit(ctx, key, incarnation)
            except ServiceError as error:
                if error.code not in REFUSAL_REASONS:
                    raise
                for relay in same:
                    relay.revoked.set()
            await asyncio.sleep(0)

    def _context(self, request: web.BaseRequest, principal: Principal) -> CallContext:
        source_ip, secure = http_caller(
            request.remote or "", request.headers, request.scheme, self._trusted
        )
        return CallContext(source_ip=source_ip, principal=principal, secure_transport=secure)

    @property
    def client(self) -> aiohttp.ClientSession:
        """For plain requests."""
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    @property
    def websocket_client(self) -> aiohttp.ClientSession:
        if self._websocket_client is None:
            self._websocket_client = self._client_factory()
        return self._websocket_client

    async def serve(self, request: web.BaseRequest, address: NotebookAddress) -> web.StreamResponse:
        """Every request to a notebook host; failures become pages here and only here."""
        try:
            return await self._serve(request, address)
        except Refused as refused:
            return self._refuse(request, refused.reason)
        except Busy:
            return pages.busy()
        except Exception as exc:
            error = failure(exc, request_id="-", where=f"notebook {address.key}")
            reason = REFUSAL_REASONS.get(error.code)
            if reason is not None:
                return self._refuse(request, reason)
            if error.code.retryable and error.code is not errors.INTERNAL_FAILURE:
                return pages.unavailable()
            return pages.internal_error()

    async def _serve(
        self, request: web.BaseRequest, address: NotebookAddress
    ) -> web.StreamResponse:
        if TOKEN_PARAMETER in request.query:
            return await self._redeem(request, address)
        session = await self._session(request, address)
        ctx = self._context(request, session.principal)
        instance = await self._admission.admit(ctx, address.key, session.incarnation)
        upstream = Upstream.of(instance)
        origin = self._site.urls.origin(address.key)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if request.headers.get("Origin") != origin:
                return pages.cross_site()  # cross-site WebSocket hijacking
            async with self.websockets.place(address.key, session.grant_id):
                return await relay_websocket(
                    request,
                    upstream,
                    self.websocket_client,
                    relay=Relay(instance.key, ctx, instance.incarnation),
                    open_sockets=self.open_sockets,
                    public_origin=origin,
                    session_cookie=sessions.COOKIE_NAME,
                )
        if request.method not in SAFE_METHODS and not _same_origin(request, origin):
            # Jupyter skips its XSRF check for token-authenticated requests, and every
            # proxied request is: this check stands in for it.
            return pages.cross_site()
        async with self.requests.place(address.key, session.grant_id):
            return await forward_http(
                request,
                upstream,
                self.client,
                public_origin=origin,
                session_cookie=sessions.COOKIE_NAME,
            )

    async def _session(
        self, request: web.BaseRequest, address: NotebookAddress
    ) -> sessions.Session:
        cookie = request.cookies.get(sessions.COOKIE_NAME)
        session = None
        if cookie:
            ring = await self._keys.ring_knowing(tokens.kid_of(cookie))
            arn = self._site.arn(address.key)
            session = sessions.decode(cookie, ring, instance_arn=arn, now=self._clock())
        if session is None:
            raise Refused("session")
        return session

    async def _redeem(
        self, request: web.BaseRequest, address: NotebookAddress
    ) -> web.StreamResponse:
        if request.method != "GET":
            raise Refused("link")
        now = self._clock()
        token = request.query[TOKEN_PARAMETER]
        ring = await self._keys.ring_knowing(tokens.kid_of(token))
        try:
            grant = tokens.decode(token, ring, audience=self._site.arn(address.key), now=now)
        except tokens.InvalidToken:
            raise Refused("link") from None
        ctx = self._context(request, grant.principal)
        try:
            instance = await self._admission.admit(ctx, address.key, grant.incarnation)
        except ServiceError as error:
            if error.code is errors.EXPIRED_TOKEN:
                raise Refused("link") from None  # minted before a stop, delete or repoint
            raise
        if not await self._storage.redeem_once(
            grant.token_id, expires_at=grant.expires_at, now=now
        ):
            raise Refused("link")  # a replay, even within the 5 minutes
        session = sessions.start(grant, now)
        response = web.Response(
            status=303, headers={"Location": self._landing(request, address, Upstream.of(instance))}
        )
        response.set_cookie(
            sessions.COOKIE_NAME,
            sessions.encode(session, self._keys.ring()),
            max_age=session.expires_at - session.started_at,
            path=address.prefix,
            httponly=True,
            samesite="Lax",
            secure=self._site.urls.secure,
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def _landing(
        self, request: web.BaseRequest, address: NotebookAddress, upstream: Upstream
    ) -> str:
        """The same path without the token, so it never stays in the browser's history;
        on the notebook's own origin whatever the path (locations)."""
        query = [(k, v) for k, v in request.query.items() if k != TOKEN_PARAMETER]
        path = locations.own_path(request.rel_url.raw_path)
        if path == address.prefix and upstream.base_path != address.prefix:
            path = upstream.base_path  # Jupyter serves under its own base_url
        origin = self._site.urls.origin(address.key)
        return locations.on_origin(origin, path + (f"?{urlencode(query)}" if query else ""))

    def _refuse(self, request: web.BaseRequest, reason: str) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return web.Response(status=403, text="Forbidden")
        target = self._sign_in_location(request, reason)
        return web.Response(status=302, headers={"Location": target, "Cache-Control": "no-store"})


def _same_origin(request: web.BaseRequest, origin: str) -> bool:
    sent = request.headers.get("Origin")
    if sent is not None:
        return sent == origin
    referer = request.headers.get("Referer", "")
    return referer == origin or referer.startswith(origin + "/")
