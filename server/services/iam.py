"""IamService: users, their access keys, policies and tags; groups, their members and
policies. Over gRPC and REST."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from nbpresign.common import errors
from nbpresign.common.errors import ServiceError
from nbpresign.server.api.clock import Clock
from nbpresign.server.api.context import CallContext
from nbpresign.server.api.timestamps import timestamp
from nbpresign.server.iam import policy
from nbpresign.server.iam.identities import (
    ACTIVE,
    AccessKey,
    Group,
    User,
    group_arn,
    new_access_key_id,
    new_secret_access_key,
    user_arn,
)
from nbpresign.server.iam.login_profiles import (
    LoginProfile,
    check_password_policy,
    hash_password,
    new_profile_id,
)
from nbpresign.server.iam.sealing import SecretBox
from nbpresign.server.storage import DuplicateGroup, DuplicateLoginProfile, DuplicateUser, Storage
from nbpresign.v1 import iam_pb2 as pb
from nbpresign.v1 import tags_pb2

MAX_KEYS_PER_USER = 2  # as in IAM: room to rotate, no more

# Something about a user changed (keys, policies, the user itself): what was allowed
# before may not be any more. The notebook proxy re-checks its open WebSockets.
PrincipalChanged = Callable[[str], Awaitable[None]]


async def default_on_principal_change(user_name: str) -> None:
    """Nothing to re-check: no proxy runs beside this service."""


def no_such_entity(message: str) -> ServiceError:
    return errors.NO_SUCH_ENTITY(message)


def _check_policy(document: str) -> None:
    try:
        policy.parse(document)
    except policy.PolicyError as exc:
        raise errors.MALFORMED_POLICY(f"Syntax errors in policy. {exc}") from None


class IamService:
    def __init__(
        self,
        storage: Storage,
        box: SecretBox,
        account_id: str,
        clock: Clock,
        *,
        on_principal_change: PrincipalChanged = default_on_principal_change,
    ) -> None:
        self._storage = storage
        self._box = box
        self._account_id = account_id
        self._clock = clock
        self._changed = on_principal_change

    def _user(self, user: User) -> pb.User:
        return pb.User(
            user_name=user.name,
            arn=user_arn(self._account_id, user.name),
            create_date=timestamp(user.creation_time),
            user_id=user.user_id,
        )

    async def _existing(self, name: str) -> User:
        user = await self._storage.get_user(name)
        if user is None:
            raise no_such_entity(f"The user with name {name} cannot be found.")
        return user

    async def CreateUser(
        self, request: pb.CreateUserRequest, ctx: CallContext
    ) -> pb.CreateUserResponse:
        user = User(request.user_name, self._clock())
        try:
            await self._storage.add_user(user)
        except DuplicateUser:
            raise errors.ENTITY_ALREADY_EXISTS(
                f"User with name {user.name} already exists."
            ) from None
        return pb.CreateUserResponse(user=self._user(user))

    async def ListUsers(
        self, request: pb.ListUsersRequest, ctx: CallContext
    ) -> pb.ListUsersResponse:
        return pb.ListUsersResponse(users=[self._user(u) for u in await self._storage.list_users()])

    async def DeleteUser(
        self, request: pb.DeleteUserRequest, ctx: CallContext
    ) -> pb.DeleteUserResponse:
        if not await self._storage.delete_user(request.user_name):
            raise no_such_entity(f"The user with name {request.user_name} cannot be found.")
        await self._changed(request.user_name)
        return pb.DeleteUserResponse()

    async def CreateAccessKey(
        self, request: pb.CreateAccessKeyRequest, ctx: CallContext
    ) -> pb.CreateAccessKeyResponse:
        await self._existing(request.user_name)
        if len(await self._storage.list_access_keys(request.user_name)) >= MAX_KEYS_PER_USER:
            raise errors.LIMIT_EXCEEDED(
                f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}"
            )
        secret = new_secret_access_key()
        key = AccessKey(
            new_access_key_id(), request.user_name, self._box.seal(secret), ACTIVE, self._clock()
        )
        await self._storage.add_access_key(key)
        shown = self._key(key)
        shown.secret_access_key = secret
        return pb.CreateAccessKeyResponse(access_key=shown)

    def _key(self, key: AccessKey) -> pb.AccessKey:
        return pb.AccessKey(
            user_name=key.user_name,
            access_key_id=key.key_id,
            status=key.status,
            create_date=timestamp(key.creation_time),
        )

    async def ListAccessKeys(
        self, request: pb.ListAccessKeysRequest, ctx: CallContext
    ) -> pb.ListAccessKeysResponse:
        await self._existing(request.user_name)
        keys = await self._storage.list_access_keys(request.user_name)
        return pb.ListAccessKeysResponse(access_key_metadata=[self._key(k) for k in keys])

    async def DeleteAccessKey(
        self, request: pb.DeleteAccessKeyRequest, ctx: CallContext
    ) -> pb.DeleteAccessKeyResponse:
        if not await self._storage.delete_access_key(request.user_name, request.access_key_id):
            raise no_such_entity(f"The Access Key with id {request.access_key_id} cannot be found.")
        await self._changed(request.user_name)
        return pb.DeleteAccessKeyResponse()

    async def PutUserPolicy(
        self, request: pb.PutUserPolicyRequest, ctx: CallContext
    ) -> pb.PutUserPolicyResponse:
        await self._existing(request.user_name)
        _check_policy(request.policy_document)
        await self._storage.put_user_policy(
            request.user_name, request.policy_name, request.policy_document
        )
        await self._changed(request.user_name)
        return pb.PutUserPolicyResponse()

    async def ListUserPolicies(
        self, request: pb.ListUserPoliciesRequest, ctx: CallContext
    ) -> pb.ListUserPoliciesResponse:
        await self._existing(request.user_name)
        found = await self._storage.list_user_policies(request.user_name)
        return pb.ListUserPoliciesResponse(
            policies=[pb.UserPolicy(policy_name=n, policy_document=d) for n, d in found]
        )

    async def DeleteUserPolicy(
        self, request: pb.DeleteUserPolicyRequest, ctx: CallContext
    ) -> pb.DeleteUserPolicyResponse:
        if not await self._storage.delete_user_policy(request.user_name, request.policy_name):
            raise no_such_entity(
                f"The user policy with name {request.policy_name} cannot be found."
            )
        await self._changed(request.user_name)
        return pb.DeleteUserPolicyResponse()

    # Issue 12: groups and user tags. A change to what a user is granted (a membership,
    # a group's policy, the user's tags) is reported for each user it touches, so open
    # sessions are re-checked at once on every replica.

    def _group(self, group: Group) -> pb.Group:
        return pb.Group(
            path="/",
            group_name=group.name,
            group_id=group.group_id,
            arn=group_arn(self._account_id, group.name),
            create_date=timestamp(group.creation_time),
        )

    async def _existing_group(self, name: str) -> Group:
        group = await self._storage.get_group(name)
        if group is None:
            raise no_such_entity(f"The group with name {name} cannot be found.")
        return group

    async def _members_changed(self, group_name: str) -> None:
        for member in await self._storage.group_members(group_name):
            await self._changed(member.name)

    async def CreateGroup(
        self, request: pb.CreateGroupRequest, ctx: CallContext
    ) -> pb.CreateGroupResponse:
        group = Group(request.group_name, self._clock())
        try:
            await self._storage.add_group(group)
        except DuplicateGroup:
            raise errors.ENTITY_ALREADY_EXISTS(
                f"Group with name {group.name} already exists."
            ) from None
        return pb.CreateGroupResponse(group=self._group(group))

    async def GetGroup(self, request: pb.GetGroupRequest, ctx: CallContext) -> pb.GetGroupResponse:
        group = await self._existing_group(request.group_name)
        members = await self._storage.group_members(group.name)
        return pb.GetGroupResponse(group=self._group(group), users=[self._user(u) for u in members])

    async def ListGroups(
        self, request: pb.ListGroupsRequest, ctx: CallContext
    ) -> pb.ListGroupsResponse:
        found = await self._storage.list_groups()
        return pb.ListGroupsResponse(groups=[self._group(g) for g in found])

    async def DeleteGroup(
        self, request: pb.DeleteGroupRequest, ctx: CallContext
    ) -> pb.DeleteGroupResponse:
        await self._existing_group(request.group_name)
        if not await self._storage.delete_group_if_empty(request.group_name):
            raise errors.DELETE_CONFLICT(
                "Cannot delete entity, must remove users from group and delete policies first."
            )
        return pb.DeleteGroupResponse()

    async def AddUserToGroup(
        self, request: pb.AddUserToGroupRequest, ctx: CallContext
    ) -> pb.AddUserToGroupResponse:
        await self._existing_group(request.group_name)
        await self._existing(request.user_name)
        await self._storage.add_group_member(request.group_name, request.user_name)
        await self._changed(request.user_name)
        return pb.AddUserToGroupResponse()

    async def RemoveUserFromGroup(
        self, request: pb.RemoveUserFromGroupRequest, ctx: CallContext
    ) -> pb.RemoveUserFromGroupResponse:
        await self._existing_group(request.group_name)
        await self._existing(request.user_name)
        if not await self._storage.remove_group_member(request.group_name, request.user_name):
            raise no_such_entity(
                f"The user with name {request.user_name} is not in group {request.group_name}."
            )
        await self._changed(request.user_name)
        return pb.RemoveUserFromGroupResponse()

    async def ListGroupsForUser(
        self, request: pb.ListGroupsForUserRequest, ctx: CallContext
    ) -> pb.ListGroupsForUserResponse:
        await self._existing(request.user_name)
        found = await self._storage.groups_of(request.user_name)
        return pb.ListGroupsForUserResponse(groups=[self._group(g) for g in found])

    async def PutGroupPolicy(
        self, request: pb.PutGroupPolicyRequest, ctx: CallContext
    ) -> pb.PutGroupPolicyResponse:
        await self._existing_group(request.group_name)
        _check_policy(request.policy_document)
        await self._storage.put_group_policy(
            request.group_name, request.policy_name, request.policy_document
        )
        await self._members_changed(request.group_name)
        return pb.PutGroupPolicyResponse()

    async def GetGroupPolicy(
        self, request: pb.GetGroupPolicyRequest, ctx: CallContext
    ) -> pb.GetGroupPolicyResponse:
        await self._existing_group(request.group_name)
        document = await self._storage.get_group_policy(request.group_name, request.policy_name)
        if document is None:
            raise no_such_entity(
                f"The group policy with name {request.policy_name} cannot be found."
            )
        return pb.GetGroupPolicyResponse(
            group_name=request.group_name,
            policy_name=request.policy_name,
            policy_document=document,
        )

    async def ListGroupPolicies(
        self, request: pb.ListGroupPoliciesRequest, ctx: CallContext
    ) -> pb.ListGroupPoliciesResponse:
        await self._existing_group(request.group_name)
        names = await self._storage.group_policy_names(request.group_name)
        return pb.ListGroupPoliciesResponse(policy_names=names)

    async def DeleteGroupPolicy(
        self, request: pb.DeleteGroupPolicyRequest, ctx: CallContext
    ) -> pb.DeleteGroupPolicyResponse:
        await self._existing_group(request.group_name)
        if not await self._storage.delete_group_policy(request.group_name, request.policy_name):
            raise no_such_entity(
                f"The group policy with name {request.policy_name} cannot be found."
            )
        await self._members_changed(request.group_name)
        return pb.DeleteGroupPolicyResponse()

    async def TagUser(self, request: pb.TagUserRequest, ctx: CallContext) -> pb.TagUserResponse:
        await self._existing(request.user_name)
        await self._storage.tag_user(request.user_name, [(t.key, t.value) for t in request.tags])
        await self._changed(request.user_name)
        return pb.TagUserResponse()

    async def UntagUser(
        self, request: pb.UntagUserRequest, ctx: CallContext
    ) -> pb.UntagUserResponse:
        await self._existing(request.user_name)
        await self._storage.untag_user(request.user_name, list(request.tag_keys))
        await self._changed(request.user_name)
        return pb.UntagUserResponse()

    async def ListUserTags(
        self, request: pb.ListUserTagsRequest, ctx: CallContext
    ) -> pb.ListUserTagsResponse:
        await self._existing(request.user_name)
        found = await self._storage.user_tags(request.user_name)
        return pb.ListUserTagsResponse(tags=[tags_pb2.Tag(key=k, value=v) for k, v in found])


class LoginProfiles:
    """IAM's CreateLoginProfile, UpdateLoginProfile, GetLoginProfile, DeleteLoginProfile:
    console passwords. Deleting one ends the console sessions and the console-minted
    notebook sessions opened with it (their principal names the profile)."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        on_principal_change: PrincipalChanged = default_on_principal_change,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._changed = on_principal_change

    def _profile(self, profile: LoginProfile) -> pb.LoginProfile:
        return pb.LoginProfile(
            user_name=profile.user_name,
            create_date=timestamp(profile.creation_time),
            password_reset_required=profile.reset_required,
        )

    async def _user_exists(self, name: str) -> None:
        if await self._storage.get_user(name) is None:
            raise no_such_entity(f"The user with name {name} cannot be found.")

    async def CreateLoginProfile(
        self, request: pb.CreateLoginProfileRequest, ctx: CallContext
    ) -> pb.CreateLoginProfileResponse:
        await self._user_exists(request.user_name)
        check_password_policy(request.password)
        profile = LoginProfile(
            request.user_name,
            new_profile_id(),
            await asyncio.to_thread(hash_password, request.password),
            request.password_reset_required,
            self._clock(),
        )
        try:
            await self._storage.add_login_profile(profile)
        except DuplicateLoginProfile:
            raise errors.ENTITY_ALREADY_EXISTS(
                f"Login Profile for user {request.user_name} already exists."
            ) from None
        return pb.CreateLoginProfileResponse(login_profile=self._profile(profile))

    async def UpdateLoginProfile(
        self, request: pb.UpdateLoginProfileRequest, ctx: CallContext
    ) -> pb.UpdateLoginProfileResponse:
        password_hash = None
        if request.HasField("password"):
            check_password_policy(request.password)
            password_hash = await asyncio.to_thread(hash_password, request.password)
        reset = (
            request.password_reset_required if request.HasField("password_reset_required") else None
        )
        if not await self._storage.update_login_profile(
            request.user_name, password_hash=password_hash, reset_required=reset
        ):
            raise self._missing(request.user_name)
        return pb.UpdateLoginProfileResponse()

    async def GetLoginProfile(
        self, request: pb.GetLoginProfileRequest, ctx: CallContext
    ) -> pb.GetLoginProfileResponse:
        profile = await self._storage.get_login_profile(request.user_name)
        if profile is None:
            raise self._missing(request.user_name)
        return pb.GetLoginProfileResponse(login_profile=self._profile(profile))

    async def DeleteLoginProfile(
        self, request: pb.DeleteLoginProfileRequest, ctx: CallContext
    ) -> pb.DeleteLoginProfileResponse:
        if not await self._storage.delete_login_profile(request.user_name):
            raise self._missing(request.user_name)
        await self._changed(request.user_name)
        return pb.DeleteLoginProfileResponse()

    def _missing(self, user_name: str) -> ServiceError:
        return no_such_entity(f"Login Profile for User {user_name} cannot be found.")
