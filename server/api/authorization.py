"""Authorization: the caller's policies, evaluated for every call and every notebook request.

action    "<service's action_prefix>:<RPC name>"
resource  the ARN of what the request names (an instance, a user), else "*"
policies  the user's own and their groups' (an explicit Deny in any of them wins)
context   aws:SourceIp, aws:CurrentTime, aws:EpochTime, aws:PrincipalArn,
          aws:username, aws:userid, aws:PrincipalType, aws:SecureTransport,
          aws:PrincipalTag/*; on an instance aws:ResourceTag/* and sagemaker:ResourceTag/*;
          on a request that sets tags (AddTags, register with Tags) aws:RequestTag/* and
          aws:TagKeys (iam.request_context)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache

from google.protobuf.message import Message

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError
from nbpresign.server.api.clock import Clock
from nbpresign.server.api.context import CallContext
from nbpresign.server.api.core import Handler, Interceptor
from nbpresign.server.api.methods import Method
from nbpresign.server.auth.sigv4 import INVALID_TOKEN
from nbpresign.server.iam.identities import ACTIVE, Principal, group_arn, user_arn
from nbpresign.server.iam.login_profiles import is_profile_id
from nbpresign.server.iam.policy import Decision, Policy, evaluate, parse
from nbpresign.server.iam.request_context import principal_keys, request_keys, resource_keys
from nbpresign.server.iam.variables import Value
from nbpresign.server.notebooks.site import Site
from nbpresign.server.storage import Storage
from nbpresign.v1 import authz_pb2, tags_pb2


@lru_cache(maxsize=1024)
def _parsed(document: str) -> Policy:
    # Stored documents were checked when attached; parsing again is only a cache miss.
    return parse(document)


def access_denied(
    principal: Principal, action: str, resource: str, decision: Decision
) -> ServiceError:
    because = (
        "with an explicit deny"
        if decision is Decision.EXPLICIT_DENY
        else f"because no identity-based policy allows the {action} action"
    )
    return errors.ACCESS_DENIED(
        f"User: {principal.arn} is not authorized to perform: {action} "
        f"on resource: {resource} {because}"
    )


class Authorizer:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    async def decide(
        self,
        principal: Principal,
        action: str,
        resource: str,
        *,
        source_ip: str,
        secure: bool,
        instance_key: str | None = None,
        request_tags: Sequence[tuple[str, str]] | None = None,
    ) -> Decision:
        """`instance_key`: the resource is that instance (its tags are read); `request_tags`:
        the tags the request sets."""
        access = await self._storage.access_of(principal.user_name)  # one round trip
        if access is None:  # deleted since: nothing allows anything
            return Decision.IMPLICIT_DENY
        now = self._clock()
        context: dict[str, Value] = {
            "aws:sourceip": source_ip,
            "aws:currenttime": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:epochtime": str(int(now)),
            "aws:principalarn": principal.arn,
            "aws:username": principal.user_name,
            "aws:principaltype": "User",
            "aws:securetransport": "true" if secure else "false",
            **principal_keys(access.user_id, access.tags),
        }
        if instance_key is not None:
            context.update(resource_keys(await self._storage.instance_tags(instance_key)))
        if request_tags is not None:
            context.update(request_keys(request_tags))
        return evaluate((_parsed(d) for d in access.documents), action, resource, context)

    async def check_key(self, principal: Principal) -> None:
        """The access key that signed for `principal` still stands: it exists, is active
        and is that user's. Authentication proves it for a call it just verified; a URL
        or session, which carries the principal for hours, asks again each time.

        A console sign-in's principal names the user's login profile instead: it stands
        while that profile exists and is the user's (deleting it, or the user, ends it)."""
        if is_profile_id(principal.access_key_id):
            profile = await self._storage.get_login_profile_by_id(principal.access_key_id)
            if profile is None or profile.user_name != principal.user_name:
                raise errors.UNRECOGNIZED_CLIENT(INVALID_TOKEN)
            return
        key = await self._storage.get_access_key(principal.access_key_id)
        if key is None or key.status != ACTIVE or key.user_name != principal.user_name:
            raise errors.UNRECOGNIZED_CLIENT(INVALID_TOKEN)

    async def check(
        self,
        principal: Principal,
        action: str,
        resource: str,
        ctx: CallContext,
        *,
        instance_key: str | None = None,
        request_tags: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        decision = await self.decide(
            principal,
            action,
            resource,
            source_ip=ctx.source_ip,
            secure=ctx.secure_transport,
            instance_key=instance_key,
            request_tags=request_tags,
        )
        if decision is not Decision.ALLOW:
            raise access_denied(principal, action, resource, decision)


def resource_of(site: Site, method: Method, request: Message) -> tuple[str, str | None]:
    """The ARN a request acts on, and the instance's key when that is an instance."""
    if method.resource_field is None:
        return "*", None
    name = getattr(request, method.resource_field)
    if method.resource_kind == authz_pb2.RESOURCE_KIND_USER:
        return user_arn(site.account_id, name), None
    if method.resource_kind == authz_pb2.RESOURCE_KIND_GROUP:
        return group_arn(site.account_id, name), None
    if method.resource_kind == authz_pb2.RESOURCE_KIND_NOTEBOOK_INSTANCE_ARN:
        if not name:  # missing: validation says so in its own words; authorize on "*"
            return "*", None
        name = site.instance_key(name)
    return site.arn(name), name.lower()


def resource_arn(site: Site, method: Method, request: Message) -> str:
    return resource_of(site, method, request)[0]


def request_tags(request: Message) -> list[tuple[str, str]] | None:
    """The tags a request sets (its `Tags` member, when it has one and sends some)."""
    field = request.DESCRIPTOR.fields_by_name.get("tags")
    if field is None or field.message_type is not tags_pb2.Tag.DESCRIPTOR:
        return None
    items: list[tags_pb2.Tag] = getattr(request, field.name)
    found = [(t.key, t.value) for t in items]
    return found or None


def authorize_with(authorizer: Authorizer, site: Site) -> Interceptor:
    """The interceptor: no call reaches a handler unless the caller's policies allow it."""

    async def authorize(
        method: Method, request: Message, ctx: CallContext, proceed: Handler
    ) -> Message:
        if ctx.principal is None:
            raise errors.MISSING_AUTHENTICATION("Missing Authentication Token")
        resource, instance_key = resource_of(site, method, request)
        await authorizer.check(
            ctx.principal,
            method.action,
            resource,
            ctx,
            instance_key=instance_key,
            request_tags=request_tags(request),
        )
        return await proceed(request, ctx)

    return authorize
