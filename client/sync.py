"""The blocking client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType

import grpc

from nbpresign.client.credentials import SigningIdentity, resolve
from nbpresign.client.errors import rpc_errors
from nbpresign.client.requests import list_request, presign_request
from nbpresign.client.signing import SigningInterceptor
from nbpresign.v1 import iam_pb2 as iam
from nbpresign.v1 import iam_pb2_grpc as iam_grpc
from nbpresign.v1 import notebook_instances_pb2 as nb
from nbpresign.v1 import notebook_instances_pb2_grpc as nb_grpc
from nbpresign.v1 import presign_pb2_grpc, tags_pb2

Tags = Mapping[str, str]  # tag key -> value


def _tags(tags: Tags) -> list[tags_pb2.Tag]:
    return [tags_pb2.Tag(key=k, value=v) for k, v in tags.items()]


class Client:
    def __init__(
        self,
        target: str,
        *,
        identity: SigningIdentity | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        """`identity`: the key that signs every call; by default the AWS credential chain."""
        signer = SigningInterceptor(identity or resolve())
        self._channel = grpc.intercept_channel(channel or grpc.insecure_channel(target), signer)
        self._presign = presign_pb2_grpc.PresignServiceStub(self._channel)
        self._instances = nb_grpc.NotebookInstanceServiceStub(self._channel)
        self._iam = iam_grpc.IamServiceStub(self._channel)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def create_presigned_notebook_instance_url(
        self, name: str, session_expiration_duration_in_seconds: int | None = None
    ) -> str:
        request = presign_request(name, session_expiration_duration_in_seconds)
        with rpc_errors():
            return self._presign.CreatePresignedNotebookInstanceUrl(request).authorized_url

    def register_notebook_instance(
        self,
        name: str,
        jupyter_server_url: str,
        jupyter_token: str = "",
        *,
        tags: Tags | None = None,
    ) -> str:
        request = nb.RegisterNotebookInstanceRequest(
            notebook_instance_name=name,
            jupyter_server_url=jupyter_server_url,
            jupyter_token=jupyter_token,
            tags=_tags(tags or {}),
        )
        with rpc_errors():
            return self._instances.RegisterNotebookInstance(request).notebook_instance_arn

    def describe_notebook_instance(self, name: str) -> nb.DescribeNotebookInstanceResponse:
        request = nb.DescribeNotebookInstanceRequest(notebook_instance_name=name)
        with rpc_errors():
            return self._instances.DescribeNotebookInstance(request)

    def list_notebook_instances(
        self,
        *,
        max_results: int | None = None,
        next_token: str = "",
        sort_by: str = "",
        sort_order: str = "",
        name_contains: str = "",
        status_equals: str = "",
    ) -> nb.ListNotebookInstancesResponse:
        request = list_request(
            max_results=max_results,
            next_token=next_token,
            sort_by=sort_by,
            sort_order=sort_order,
            name_contains=name_contains,
            status_equals=status_equals,
        )
        with rpc_errors():
            return self._instances.ListNotebookInstances(request)

    def start_notebook_instance(self, name: str) -> None:
        with rpc_errors():
            self._instances.StartNotebookInstance(
                nb.StartNotebookInstanceRequest(notebook_instance_name=name)
            )

    def stop_notebook_instance(self, name: str) -> None:
        with rpc_errors():
            self._instances.StopNotebookInstance(
                nb.StopNotebookInstanceRequest(notebook_instance_name=name)
            )

    def delete_notebook_instance(self, name: str) -> None:
        with rpc_errors():
            self._instances.DeleteNotebookInstance(
                nb.DeleteNotebookInstanceRequest(notebook_instance_name=name)
            )

    # Identities (IamService): users, access keys, policies.

    def create_user(self, user_name: str) -> iam.User:
        with rpc_errors():
            return self._iam.CreateUser(iam.CreateUserRequest(user_name=user_name)).user

    def list_users(self) -> list[iam.User]:
        with rpc_errors():
            return list(self._iam.ListUsers(iam.ListUsersRequest()).users)

    def delete_user(self, user_name: str) -> None:
        with rpc_errors():
            self._iam.DeleteUser(iam.DeleteUserRequest(user_name=user_name))

    def create_access_key(self, user_name: str) -> iam.AccessKey:
        """The new key, with its secret: the only time the secret is returned."""
        with rpc_errors():
            request = iam.CreateAccessKeyRequest(user_name=user_name)
            return self._iam.CreateAccessKey(request).access_key

    def list_access_keys(self, user_name: str) -> list[iam.AccessKey]:
        with rpc_errors():
            request = iam.ListAccessKeysRequest(user_name=user_name)
            return list(self._iam.ListAccessKeys(request).access_key_metadata)

    def delete_access_key(self, user_name: str, access_key_id: str) -> None:
        with rpc_errors():
            request = iam.DeleteAccessKeyRequest(user_name=user_name, access_key_id=access_key_id)
            self._iam.DeleteAccessKey(request)

    def put_user_policy(self, user_name: str, policy_name: str, policy_document: str) -> None:
        request = iam.PutUserPolicyRequest(
            user_name=user_name, policy_name=policy_name, policy_document=policy_document
        )
        with rpc_errors():
            self._iam.PutUserPolicy(request)

    def list_user_policies(self, user_name: str) -> list[iam.UserPolicy]:
        with rpc_errors():
            request = iam.ListUserPoliciesRequest(user_name=user_name)
            return list(self._iam.ListUserPolicies(request).policies)

    def delete_user_policy(self, user_name: str, policy_name: str) -> None:
        with rpc_errors():
            request = iam.DeleteUserPolicyRequest(user_name=user_name, policy_name=policy_name)
            self._iam.DeleteUserPolicy(request)

    # Console passwords (IamService's login profiles).

    def create_login_profile(
        self, user_name: str, password: str, *, password_reset_required: bool = False
    ) -> iam.LoginProfile:
        request = iam.CreateLoginProfileRequest(
            user_name=user_name, password=password, password_reset_required=password_reset_required
        )
        with rpc_errors():
            return self._iam.CreateLoginProfile(request).login_profile

    def update_login_profile(
        self,
        user_name: str,
        *,
        password: str | None = None,
        password_reset_required: bool | None = None,
    ) -> None:
        request = iam.UpdateLoginProfileRequest(
            user_name=user_name, password=password, password_reset_required=password_reset_required
        )
        with rpc_errors():
            self._iam.UpdateLoginProfile(request)

    def get_login_profile(self, user_name: str) -> iam.LoginProfile:
        with rpc_errors():
            request = iam.GetLoginProfileRequest(user_name=user_name)
            return self._iam.GetLoginProfile(request).login_profile

    def delete_login_profile(self, user_name: str) -> None:
        with rpc_errors():
            self._iam.DeleteLoginProfile(iam.DeleteLoginProfileRequest(user_name=user_name))

    # Issue 12: tags on instances (by ARN, as SageMaker names them) and on users; groups.

    def add_tags(self, resource_arn: str, tags: Tags) -> None:
        with rpc_errors():
            self._instances.AddTags(nb.AddTagsRequest(resource_arn=resource_arn, tags=_tags(tags)))

    def list_tags(self, resource_arn: str) -> dict[str, str]:
        """Every tag, through every page."""
        found: dict[str, str] = {}
        token = ""
        with rpc_errors():
            while True:
                request = nb.ListTagsRequest(resource_arn=resource_arn, next_token=token)
                page = self._instances.ListTags(request)
                found.update((t.key, t.value) for t in page.tags)
                token = page.next_token
                if not token:
                    return found

    def delete_tags(self, resource_arn: str, tag_keys: Sequence[str]) -> None:
        with rpc_errors():
            request = nb.DeleteTagsRequest(resource_arn=resource_arn, tag_keys=tag_keys)
            self._instances.DeleteTags(request)

    def tag_user(self, user_name: str, tags: Tags) -> None:
        with rpc_errors():
            self._iam.TagUser(iam.TagUserRequest(user_name=user_name, tags=_tags(tags)))

    def untag_user(self, user_name: str, tag_keys: Sequence[str]) -> None:
        with rpc_errors():
            self._iam.UntagUser(iam.UntagUserRequest(user_name=user_name, tag_keys=tag_keys))

    def list_user_tags(self, user_name: str) -> dict[str, str]:
        with rpc_errors():
            page = self._iam.ListUserTags(iam.ListUserTagsRequest(user_name=user_name))
            return {t.key: t.value for t in page.tags}

    def create_group(self, group_name: str) -> iam.Group:
        with rpc_errors():
            return self._iam.CreateGroup(iam.CreateGroupRequest(group_name=group_name)).group

    def get_group(self, group_name: str) -> iam.GetGroupResponse:
        with rpc_errors():
            return self._iam.GetGroup(iam.GetGroupRequest(group_name=group_name))

    def list_groups(self) -> list[iam.Group]:
        with rpc_errors():
            return list(self._iam.ListGroups(iam.ListGroupsRequest()).groups)

    def delete_group(self, group_name: str) -> None:
        with rpc_errors():
            self._iam.DeleteGroup(iam.DeleteGroupRequest(group_name=group_name))

    def add_user_to_group(self, group_name: str, user_name: str) -> None:
        with rpc_errors():
            request = iam.AddUserToGroupRequest(group_name=group_name, user_name=user_name)
            self._iam.AddUserToGroup(request)

    def remove_user_from_group(self, group_name: str, user_name: str) -> None:
        with rpc_errors():
            request = iam.RemoveUserFromGroupRequest(group_name=group_name, user_name=user_name)
            self._iam.RemoveUserFromGroup(request)

    def list_groups_for_user(self, user_name: str) -> list[iam.Group]:
        with rpc_errors():
            request = iam.ListGroupsForUserRequest(user_name=user_name)
            return list(self._iam.ListGroupsForUser(request).groups)

    def put_group_policy(self, group_name: str, policy_name: str, policy_document: str) -> None:
        request = iam.PutGroupPolicyRequest(
            group_name=group_name, policy_name=policy_name, policy_document=policy_document
        )
        with rpc_errors():
            self._iam.PutGroupPolicy(request)

    def get_group_policy(self, group_name: str, policy_name: str) -> str:
        """The policy document."""
        with rpc_errors():
            request = iam.GetGroupPolicyRequest(group_name=group_name, policy_name=policy_name)
            return self._iam.GetGroupPolicy(request).policy_document

    def list_group_policies(self, group_name: str) -> list[str]:
        """The policies' names."""
        with rpc_errors():
            request = iam.ListGroupPoliciesRequest(group_name=group_name)
            return list(self._iam.ListGroupPolicies(request).policy_names)

    def delete_group_policy(self, group_name: str, policy_name: str) -> None:
        with rpc_errors():
            request = iam.DeleteGroupPolicyRequest(group_name=group_name, policy_name=policy_name)
            self._iam.DeleteGroupPolicy(request)
