"""The console's HTTP side, on the API host only: its page, its two assets, its JSON calls.

    GET  /                                  the console (sign-in form or instance list)
    GET  /_nbpresign/sign-in?reason=...     the same page, saying why a link sent you here
    GET  /_nbpresign/console/console.js|css the assets, from the package
    GET  /_nbpresign/console/session        who is signed in, and the CSRF token
    POST /_nbpresign/console/sign-in        {userName, password[, newPassword]}
    POST /_nbpresign/console/sign-out
    GET  /_nbpresign/console/instances      ListNotebookInstances as the user
    POST /_nbpresign/console/open           CreatePresignedNotebookInstanceUrl as the user
    POST /_nbpresign/console/start|stop     Start/StopNotebookInstance as the user

Every call on an instance goes through Core.call as the signed-in user, from the browser's
address (aws:SourceIp), with the same validation and authorization as boto3's. Every POST
must come from this origin (Origin) and, once signed in, carry the session's CSRF token.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from html import escape
from importlib import resources
from typing import Any

from aiohttp import web
from google.protobuf.message import Message

from nbpresign.common.errors import ServiceError
from nbpresign.server.api.authorization import Authorizer, access_denied
from nbpresign.server.api.context import CallContext, new_request_id
from nbpresign.server.api.core import Core
from nbpresign.server.api.failures import failure
from nbpresign.server.api.methods import method_named
from nbpresign.server.auth.source_ip import Network, http_caller
from nbpresign.server.console.lockout import Lockout
from nbpresign.server.console.sessions import (
    ConsoleSessions,
    SignedIn,
    clear_cookie,
    set_cookie,
)
from nbpresign.server.iam.identities import Principal, user_arn
from nbpresign.server.iam.login_profiles import (
    DUMMY_HASH,
    hash_password,
    password_policy_violation,
    verify_password,
)
from nbpresign.server.iam.policy import Decision
from nbpresign.server.proxy.pages import DEFAULT_REASON, SIGN_IN_PATH, SIGN_IN_REASONS
from nbpresign.server.storage import Storage

PREFIX = "/_nbpresign/console/"
# Signing in is authorized as this action on the user's ARN: allowed unless a policy
# denies it (as the AWS console needs no permission to sign in), so a policy can refuse
# it by aws:SourceIp: {"Effect": "Deny", "Action": "signin:ConsoleLogin", "Condition":
# {"NotIpAddress": {"aws:SourceIp": [...]}}}.
SIGN_IN_ACTION = "signin:ConsoleLogin"
WRONG_CREDENTIALS = "Your user name or password is incorrect."
CSRF_HEADER = "X-CSRF-Token"
MAX_JSON_BYTES = 16 * 1024

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
ASSETS = {"console.js": "text/javascript", "console.css": "text/css"}
NOTICE_MARK = "<!--notice-->"

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class Refused(Exception):
    """A console request refused before any call: status and words for the person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _asset(name: str) -> str:
    return resources.files("nbpresign.server.console").joinpath("static", name).read_text()


def reply(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(payload, status=status, headers=SECURITY_HEADERS)


def problem(status: int, message: str, code: str = "") -> web.Response:
    return reply({"message": message, "code": code}, status)


@dataclass(frozen=True)
class Caller:
    source_ip: str
    secure: bool
    origin: str


class Console:
    def __init__(
        self,
        core: Core,
        authorizer: Authorizer,
        storage: Storage,
        sessions: ConsoleSessions,
        lockout: Lockout,
        *,
        account_id: str,
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self._core = core
        self._authorizer = authorizer
        self._storage = storage
        self._sessions = sessions
        self._lockout = lockout
        self._account_id = account_id
        self._trusted = tuple(trusted_proxies)
        self._page = _asset("console.html")
        self._gets: dict[str, Handler] = {
            "/": self._console_page,
            SIGN_IN_PATH: self._console_page,
            PREFIX + "session": self._session,
            PREFIX + "instances": self._instances,
            **{PREFIX + name: self._asset_handler(name) for name in ASSETS},
        }
        self._posts: dict[str, Handler] = {
            PREFIX + "sign-in": self._sign_in,
            PREFIX + "sign-out": self._sign_out,
            PREFIX + "open": self._open,
            PREFIX + "start": self._start,
            PREFIX + "stop": self._stop,
        }

    def route(self, request: web.BaseRequest) -> Handler | None:
        """The console's requests: GET of its pages; anything under PREFIX (a wrong method
        there is its own 405). POST / stays the API's (AWS JSON)."""
        if request.path.startswith(PREFIX):
            return self._dispatch
        if request.method in ("GET", "HEAD") and request.path in self._gets:
            return self._dispatch
        return None

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        table = self._posts if request.method == "POST" else self._gets
        handler = table.get(request.path)
        if handler is None:
            if request.path in self._gets or request.path in self._posts:
                return problem(405, "This method is not allowed here.")
            return problem(404, "There is nothing here.")
        if request.method not in ("GET", "HEAD", "POST"):
            return problem(405, "This method is not allowed here.")
        try:
            return await handler(request)
        except Refused as refused:
            return problem(refused.status, refused.message)
        except Exception as exc:
            error = failure(exc, request_id=new_request_id(), where=f"console {request.path}")
            return problem(error.code.http, error.message, error.code.aws)

    def _caller(self, request: web.BaseRequest) -> Caller:
        source_ip, secure = http_caller(
            request.remote or "", request.headers, request.scheme, self._trusted
        )
        return Caller(source_ip, secure, f"{'https' if secure else 'http'}://{request.host}")

    # --- pages and assets -------------------------------------------------------------

    async def _console_page(self, request: web.BaseRequest) -> web.StreamResponse:
        notice = ""
        status = 200
        if request.path == SIGN_IN_PATH:
            status = 401  # the link that sent the person here no longer opens anything
            text = SIGN_IN_REASONS.get(request.query.get("reason", ""), DEFAULT_REASON)
            notice = f'<p class="notice" role="status">{escape(text)}</p>'
        body = self._page.replace(NOTICE_MARK, notice)
        return web.Response(
            status=status,
            text=body,
            content_type="text/html",
            charset="utf-8",
            headers=SECURITY_HEADERS,
        )

    def _asset_handler(self, name: str) -> Handler:
        text = _asset(name)

        async def serve(request: web.BaseRequest) -> web.StreamResponse:
            headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
            return web.Response(
                text=text, content_type=ASSETS[name], charset="utf-8", headers=headers
            )

        return serve

    # --- signing in and out -----------------------------------------------------------

    async def _session(self, request: web.BaseRequest) -> web.StreamResponse:
        signed_in = await self._sessions.find(request)
        if signed_in is None:
            return problem(401, "You are not signed in.")
        return reply({"userName": signed_in.principal.user_name, "csrfToken": signed_in.csrf_token})

    async def _sign_in(self, request: web.BaseRequest) -> web.StreamResponse:
        caller = self._caller(request)
        self._same_origin(request, caller)
        body = await self._json(request)
        name, password = _text(body, "userName"), _text(body, "password")
        new_password = body.get("newPassword")
        if not name or not password:
            raise Refused(400, "Enter your user name and password.")
        refusal = await self._lockout.refusal(name, caller.source_ip)
        if refusal is not None:
            raise Refused(429, refusal.message)
        profile = await self._storage.get_login_profile(name)
        stored = DUMMY_HASH if profile is None else profile.password_hash
        matches = await asyncio.to_thread(verify_password, stored, password)
        if profile is None or not matches:
            await self._lockout.failed(name, caller.source_ip)
            raise Refused(401, WRONG_CREDENTIALS)
        principal = Principal(user_arn(self._account_id, name), name, profile.profile_id)
        await self._authorize_sign_in(principal, caller)
        await self._lockout.succeeded(name)
        if profile.reset_required:
            if not isinstance(new_password, str) or not new_password:
                return reply({"passwordResetRequired": True})
            await self._reset_password(name, password, new_password)
        cookie, signed_in = await self._sessions.start(profile)
        response = reply(
            {"userName": name, "csrfToken": signed_in.csrf_token, "passwordResetRequired": False}
        )
        set_cookie(response, cookie, secure=caller.secure)
        return response

    async def _authorize_sign_in(self, principal: Principal, caller: Caller) -> None:
        resource = principal.arn
        decision = await self._authorizer.decide(
            principal, SIGN_IN_ACTION, resource, source_ip=caller.source_ip, secure=caller.secure
        )
        if decision is Decision.EXPLICIT_DENY:
            denied = access_denied(principal, SIGN_IN_ACTION, resource, decision)
            raise Refused(403, denied.message)

    async def _reset_password(self, name: str, old: str, new: str) -> None:
        violation = password_policy_violation(new)
        if violation is not None:
            raise Refused(400, violation.message)
        if new == old:
            raise Refused(400, "Choose a new password, different from the current one.")
        hashed = await asyncio.to_thread(hash_password, new)
        await self._storage.update_login_profile(name, password_hash=hashed, reset_required=False)

    async def _sign_out(self, request: web.BaseRequest) -> web.StreamResponse:
        caller = self._caller(request)
        signed_in = await self._signed_in(request, caller)
        await self._sessions.end(signed_in)
        response = reply({})
        clear_cookie(response, secure=caller.secure)
        return response

    # --- calls as the signed-in user --------------------------------------------------

    async def _instances(self, request: web.BaseRequest) -> web.StreamResponse:
        caller = self._caller(request)
        signed_in = await self._signed_in(request, caller, state_changing=False)
        method = method_named("ListNotebookInstances")
        rows: list[dict[str, str]] = []
        token = ""
        while True:
            page: Any = await self._call(
                "ListNotebookInstances",
                method.input_type(next_token=token, max_results=100),
                signed_in,
                caller,
            )
            rows.extend(
                {
                    "name": s.notebook_instance_name,
                    "status": s.notebook_instance_status,
                    "created": s.creation_time.ToJsonString(),
                }
                for s in page.notebook_instances
            )
            token = page.next_token
            if not token:
                return reply({"instances": rows})

    async def _open(self, request: web.BaseRequest) -> web.StreamResponse:
        caller = self._caller(request)
        signed_in = await self._signed_in(request, caller)
        body = await self._json(request)
        seconds = body.get("sessionSeconds", 43200)
        if not isinstance(seconds, int) or isinstance(seconds, bool):
            raise Refused(400, "Choose a session length.")
        method = method_named("CreatePresignedNotebookInstanceUrl")
        request_message = method.input_type(
            notebook_instance_name=_text(body, "name"),
            session_expiration_duration_in_seconds=seconds,
        )
        response: Any = await self._call(
            "CreatePresignedNotebookInstanceUrl", request_message, signed_in, caller
        )
        return reply({"authorizedUrl": response.authorized_url})

    async def _start(self, request: web.BaseRequest) -> web.StreamResponse:
        return await self._change(request, "StartNotebookInstance")

    async def _stop(self, request: web.BaseRequest) -> web.StreamResponse:
        return await self._change(request, "StopNotebookInstance")

    async def _change(self, request: web.BaseRequest, rpc: str) -> web.StreamResponse:
        caller = self._caller(request)
        signed_in = await self._signed_in(request, caller)
        body = await self._json(request)
        message = method_named(rpc).input_type(notebook_instance_name=_text(body, "name"))
        await self._call(rpc, message, signed_in, caller)
        return reply({})

    async def _call(
        self, rpc: str, request: Message, signed_in: SignedIn, caller: Caller
    ) -> Message:
        ctx = CallContext(caller.source_ip, signed_in.principal, caller.secure)
        try:
            return await self._core.call(method_named(rpc), request, ctx)
        except ServiceError as error:
            raise Refused(error.code.http, error.message) from None

    # --- the request's own checks -----------------------------------------------------

    async def _signed_in(
        self, request: web.BaseRequest, caller: Caller, *, state_changing: bool = True
    ) -> SignedIn:
        if state_changing:
            self._same_origin(request, caller)
        signed_in = await self._sessions.find(request)
        if signed_in is None:
            raise Refused(401, "Your console session has ended. Sign in again.")
        if state_changing:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), signed_in.csrf_token.encode()):
                raise Refused(403, "The request was refused: reload the page and try again.")
        return signed_in

    def _same_origin(self, request: web.BaseRequest, caller: Caller) -> None:
        if request.headers.get("Origin") != caller.origin:
            raise Refused(403, "A request from another site was refused.")

    async def _json(self, request: web.BaseRequest) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise Refused(415, "The console sends JSON.")
        raw = await request.content.read(MAX_JSON_BYTES + 1)
        if len(raw) > MAX_JSON_BYTES:
            raise Refused(413, "The request is too large.")
        try:
            body = json.loads(raw)
        except ValueError:
            raise Refused(400, "The request is not valid JSON.") from None
        if not isinstance(body, dict):
            raise Refused(400, "The request is not valid JSON.")
        return body


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    return value if isinstance(value, str) else ""
