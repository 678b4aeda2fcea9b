"""Storage: the one object callers use, each call answered by a repository over a Database.

Every method may raise StorageUnavailable (the database cannot answer right now) and, on
PostgreSQL, InvalidText (a string with NUL).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from nbpresign.server.iam.identities import Access, AccessKey, Group, User
from nbpresign.server.iam.login_profiles import LoginProfile
from nbpresign.server.notebooks.instance import NotebookInstance
from nbpresign.server.storage import (
    console_sessions,
    groups,
    identities,
    instances,
    login_profiles,
    policies,
    redemptions,
    shared_secrets,
    sign_in_failures,
    signing_keys,
    tags,
)
from nbpresign.server.storage.console_sessions import ConsoleSession
from nbpresign.server.storage.database import Database, EventHandler
from nbpresign.server.storage.instances import InstanceQuery


class Storage:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def add_instance(
        self, instance: NotebookInstance, instance_tags: Sequence[tuple[str, str]] = ()
    ) -> None:
        """Raises DuplicateInstance when the name is taken, ignoring case. The instance
        and its tags are added together or not at all."""
        async with self._db.transaction() as tx:
            await instances.add(tx, instance)
            await tags.put(tx, tags.TABLES["instance"], instance.key, instance_tags)

    async def get_instance(self, key: str) -> NotebookInstance | None:
        return await instances.get(self._db, key)

    async def list_instances(self, query: InstanceQuery) -> list[NotebookInstance]:
        """At most query.limit instances, in the query's order, after query.after."""
        return await instances.list_page(self._db, query)

    async def change_status(
        self, key: str, *, allowed_from: Collection[str], to: str, now: float
    ) -> bool:
        """Sets the status if the current one is in allowed_from; False if it was not."""
        return await instances.change_status(
            self._db, key, allowed_from=allowed_from, to=to, now=now
        )

    async def delete_instance(self, key: str, *, allowed_from: Collection[str]) -> bool:
        """Deletes the instance if its status is in allowed_from; False if it was not."""
        return await instances.delete(self._db, key, allowed_from=allowed_from)

    async def replace_upstream(
        self, key: str, *, jupyter_url: str, jupyter_token: str, now: float
    ) -> bool:
        """Points an instance at another Jupyter server; False if there is no such instance."""
        return await instances.replace_upstream(
            self._db, key, jupyter_url=jupyter_url, jupyter_token=jupyter_token, now=now
        )

    async def redeem_once(self, token_id: str, *, expires_at: float, now: float) -> bool:
        """Records a URL token as used: True the first time, False ever after."""
        return await redemptions.redeem_once(self._db, token_id, expires_at=expires_at, now=now)

    async def add_user(self, user: User) -> None:
        """Raises DuplicateUser when the name is taken."""
        await identities.add_user(self._db, user)

    async def get_user(self, name: str) -> User | None:
        return await identities.get_user(self._db, name)

    async def list_users(self) -> list[User]:
        return await identities.list_users(self._db)

    async def delete_user(self, name: str) -> bool:
        """Deletes the user with their keys and policies; False if there was none."""
        return await identities.delete_user(self._db, name)

    async def add_access_key(self, key: AccessKey) -> None:
        await identities.add_access_key(self._db, key)

    async def get_access_key(self, key_id: str) -> AccessKey | None:
        return await identities.get_access_key(self._db, key_id)

    async def list_access_keys(self, user_name: str) -> list[AccessKey]:
        return await identities.list_access_keys(self._db, user_name)

    async def delete_access_key(self, user_name: str, key_id: str) -> bool:
        return await identities.delete_access_key(self._db, user_name, key_id)

    async def put_user_policy(self, user_name: str, policy_name: str, document: str) -> None:
        """Attaches the document under that name, replacing any before it."""
        await policies.put(self._db, user_name, policy_name, document)

    async def list_user_policies(self, user_name: str) -> list[tuple[str, str]]:
        """(policy name, document) pairs, by name."""
        return await policies.list_of(self._db, user_name)

    async def delete_user_policy(self, user_name: str, policy_name: str) -> bool:
        return await policies.delete(self._db, user_name, policy_name)

    async def add_login_profile(self, profile: LoginProfile) -> None:
        """Raises DuplicateLoginProfile when the user has one."""
        await login_profiles.add(self._db, profile)

    async def get_login_profile(self, user_name: str) -> LoginProfile | None:
        return await login_profiles.get(self._db, user_name)

    async def get_login_profile_by_id(self, profile_id: str) -> LoginProfile | None:
        return await login_profiles.get_by_id(self._db, profile_id)

    async def update_login_profile(
        self, user_name: str, *, password_hash: str | None, reset_required: bool | None
    ) -> bool:
        """Changes what is given (None: unchanged); False if the user has none."""
        return await login_profiles.update(
            self._db, user_name, password_hash=password_hash, reset_required=reset_required
        )

    async def delete_login_profile(self, user_name: str) -> bool:
        """Deletes it with the console sessions opened with it; False if there was none."""
        return await login_profiles.delete(self._db, user_name)

    async def add_console_session(self, session: ConsoleSession) -> None:
        await console_sessions.add(self._db, session)

    async def touch_console_session(
        self, id_hash: str, *, idle_since: float, absolute_since: float, now: float
    ) -> ConsoleSession | None:
        """The live session, marked used now; None once idle or too old (then deleted)."""
        return await console_sessions.touch(
            self._db, id_hash, idle_since=idle_since, absolute_since=absolute_since, now=now
        )

    async def delete_console_session(self, id_hash: str) -> None:
        await console_sessions.delete(self._db, id_hash)

    async def sign_in_failures(self, subject: str, *, since: float) -> tuple[int, float]:
        """(failures, last failure's time) of a subject since `since`."""
        return await sign_in_failures.get(self._db, subject, since=since)

    async def record_sign_in_failure(self, subject: str, *, since: float, now: float) -> int:
        """One more failure; the count since `since`, this one included."""
        return await sign_in_failures.record(self._db, subject, since=since, now=now)

    async def clear_sign_in_failures(self, subject: str) -> None:
        await sign_in_failures.clear(self._db, subject)

    # Issue 12: groups, tags, and a user's effective access.

    async def access_of(self, user_name: str) -> Access | None:
        """The user's id, own and groups' policy documents and tags, in one query."""
        return await groups.access_of(self._db, user_name)

    async def add_group(self, group: Group) -> None:
        """Raises DuplicateGroup when the name is taken."""
        await groups.add(self._db, group)

    async def get_group(self, name: str) -> Group | None:
        return await groups.get(self._db, name)

    async def list_groups(self) -> list[Group]:
        return await groups.list_all(self._db)

    async def delete_group_if_empty(self, name: str) -> bool:
        """Deletes the group unless it has members or policies; False if not deleted."""
        return await groups.delete_if_empty(self._db, name)

    async def add_group_member(self, group_name: str, user_name: str) -> None:
        await groups.add_member(self._db, group_name, user_name)

    async def remove_group_member(self, group_name: str, user_name: str) -> bool:
        return await groups.remove_member(self._db, group_name, user_name)

    async def group_members(self, group_name: str) -> list[User]:
        return await groups.members(self._db, group_name)

    async def groups_of(self, user_name: str) -> list[Group]:
        return await groups.groups_of(self._db, user_name)

    async def put_group_policy(self, group_name: str, policy_name: str, document: str) -> None:
        await groups.put_policy(self._db, group_name, policy_name, document)

    async def get_group_policy(self, group_name: str, policy_name: str) -> str | None:
        return await groups.get_policy(self._db, group_name, policy_name)

    async def group_policy_names(self, group_name: str) -> list[str]:
        return await groups.policy_names(self._db, group_name)

    async def delete_group_policy(self, group_name: str, policy_name: str) -> bool:
        return await groups.delete_policy(self._db, group_name, policy_name)

    async def tag_instance(self, key: str, instance_tags: Sequence[tuple[str, str]]) -> None:
        await tags.put(self._db, tags.TABLES["instance"], key, instance_tags)

    async def untag_instance(self, key: str, tag_keys: Sequence[str]) -> None:
        await tags.delete(self._db, tags.TABLES["instance"], key, tag_keys)

    async def instance_tags(
        self, key: str, *, after: str | None = None, limit: int | None = None
    ) -> list[tuple[str, str]]:
        """(key, value) pairs by key, after `after`, at most `limit`."""
        return await tags.list_page(
            self._db, tags.TABLES["instance"], key, after=after, limit=limit
        )

    async def tag_user(self, user_name: str, user_tags: Sequence[tuple[str, str]]) -> None:
        await tags.put(self._db, tags.TABLES["user"], user_name, user_tags)

    async def untag_user(self, user_name: str, tag_keys: Sequence[str]) -> None:
        await tags.delete(self._db, tags.TABLES["user"], user_name, tag_keys)

    async def user_tags(self, user_name: str) -> list[tuple[str, str]]:
        return await tags.list_page(self._db, tags.TABLES["user"], user_name)

    async def signing_keys(self) -> list[tuple[str, bytes, float]]:
        """(kid, sealed key, creation time) of every URL-signing key, oldest first."""
        return await signing_keys.list_all(self._db)

    async def add_signing_key(self, kid: str, sealed_key: bytes, creation_time: float) -> None:
        await signing_keys.add(self._db, kid, sealed_key, creation_time)

    async def shared_secret(self, name: str, candidate: bytes) -> bytes:
        """The secret stored under `name`, storing `candidate` first if there is none.

        Atomic: replicas racing to set it all get the one that won."""
        return await shared_secrets.get_or_set(self._db, name, candidate)

    async def publish(self, event: str) -> None:
        """Tells every replica's subscribers (this one's included) that `event` happened."""
        await self._db.publish(event)

    def subscribe(self, handler: EventHandler) -> None:
        """`handler` gets every event, and RESYNC when events may have been lost."""
        self._db.subscribe(handler)

    async def close(self) -> None:
        await self._db.close()
