"""The schema, written once: migration steps in order, with the type names that differ
between the dialects substituted ({double}, {bytes}).

Each dialect records how far it got the way it always has, so databases created before
the schema was shared open and migrate forward: SQLite in PRAGMA user_version, PostgreSQL
in a schema_migrations table under an advisory lock. Either way the steps run in one
transaction that holds the database's write lock (SQLite's BEGIN IMMEDIATE), so
processes starting at once take turns and apply each step exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from nbpresign.server.storage.database import Database, Dialect, Statements

TYPES: dict[Dialect, dict[str, str]] = {
    "sqlite": {
        "double": "REAL",
        "bytes": "BLOB",
        # 17 random upper-case hex digits: an IAM-style unique id's tail, for rows that
        # predate the column (new rows get theirs from iam.identities).
        "random17": "upper(substr(hex(randomblob(9)), 1, 17))",
    },
    "postgresql": {
        "double": "DOUBLE PRECISION",
        "bytes": "BYTEA",
        "random17": "upper(substr(md5(random()::text || clock_timestamp()::text), 1, 17))",
    },
}

MIGRATIONS: Sequence[str] = (
    """
    CREATE TABLE notebook_instances (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        jupyter_url TEXT NOT NULL,
        jupyter_token TEXT NOT NULL,
        status TEXT NOT NULL,
        creation_time {double} NOT NULL,
        last_modified_time {double} NOT NULL
    );
    CREATE INDEX notebook_instances_creation ON notebook_instances (creation_time, key);
    CREATE INDEX notebook_instances_status ON notebook_instances (status, key);
    """,
    """
    CREATE TABLE redeemed_tokens (
        token_id TEXT PRIMARY KEY,
        expires_at {double} NOT NULL
    );
    CREATE INDEX redeemed_tokens_expiry ON redeemed_tokens (expires_at);
    """,
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        creation_time {double} NOT NULL
    );
    CREATE TABLE access_keys (
        key_id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
        sealed_secret {bytes} NOT NULL,
        status TEXT NOT NULL,
        creation_time {double} NOT NULL
    );
    CREATE INDEX access_keys_user ON access_keys (user_name);
    CREATE TABLE user_policies (
        user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
        policy_name TEXT NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (user_name, policy_name)
    );
    CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        sealed_key {bytes} NOT NULL,
        creation_time {double} NOT NULL
    );
    CREATE TABLE shared_secrets (
        name TEXT PRIMARY KEY,
        value {bytes} NOT NULL
    );
    """,
    # Incarnations (instances.py): rows from before count as one incarnation, "".
    """
    ALTER TABLE notebook_instances ADD COLUMN incarnation TEXT NOT NULL DEFAULT ''
    """,
    # Issue 12: user ids, groups with members and policies, tags on users and instances.
    """
    ALTER TABLE users ADD COLUMN user_id TEXT;
    UPDATE users SET user_id = 'AIDA' || {random17} WHERE user_id IS NULL;
    CREATE TABLE groups (
        name TEXT PRIMARY KEY,
        group_id TEXT NOT NULL,
        creation_time {double} NOT NULL
    );
    CREATE TABLE group_members (
        group_name TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
        user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
        PRIMARY KEY (group_name, user_name)
    );
    CREATE INDEX group_members_user ON group_members (user_name);
    CREATE TABLE group_policies (
        group_name TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
        policy_name TEXT NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (group_name, policy_name)
    );
    CREATE TABLE user_tags (
        user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
        tag_key TEXT NOT NULL,
        tag_value TEXT NOT NULL,
        PRIMARY KEY (user_name, tag_key)
    );
    CREATE TABLE instance_tags (
        instance_key TEXT NOT NULL REFERENCES notebook_instances (key) ON DELETE CASCADE,
        tag_key TEXT NOT NULL,
        tag_value TEXT NOT NULL,
        PRIMARY KEY (instance_key, tag_key)
    );
    """,
    # The console (issue 11): login profiles (console passwords), console sessions, and
    # failed sign-ins counted per user name and per source address. Booleans are INTEGER
    # 0/1 in both dialects.
    """
    CREATE TABLE login_profiles (
        user_name TEXT PRIMARY KEY REFERENCES users (name) ON DELETE CASCADE,
        profile_id TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        reset_required INTEGER NOT NULL,
        creation_time {double} NOT NULL
    );
    CREATE TABLE console_sessions (
        id_hash TEXT PRIMARY KEY,
        profile_id TEXT NOT NULL REFERENCES login_profiles (profile_id) ON DELETE CASCADE,
        user_name TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at {double} NOT NULL,
        last_seen {double} NOT NULL
    );
    CREATE INDEX console_sessions_profile ON console_sessions (profile_id);
    CREATE TABLE sign_in_failures (
        subject TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failure {double} NOT NULL
    );
    """,
)


def statements(step: str, dialect: Dialect) -> list[str]:
    """One step's statements in that dialect, one at a time (sqlite3 runs no scripts)."""
    return [s.strip() for s in step.format_map(TYPES[dialect]).split(";") if s.strip()]


class Bookkeeping(Protocol):
    async def applied(self, tx: Statements) -> int:
        """How many of MIGRATIONS the database has, locking out other migrators."""

    async def record(self, tx: Statements, before: int, after: int) -> None: ...


class UserVersion:
    """SQLite: PRAGMA user_version is the number of steps applied."""

    async def applied(self, tx: Statements) -> int:
        return int(await tx.fetchval("PRAGMA user_version"))

    async def record(self, tx: Statements, before: int, after: int) -> None:
        await tx.execute(f"PRAGMA user_version = {int(after)}")  # takes no parameter


class MigrationsTable:
    """PostgreSQL: one schema_migrations row per version. Version 1 was the first three
    steps at once (PostgreSQL support arrived after them); each later version is one step."""

    LOCK = 0x6E627072  # any constant of our own: "nbpr"
    FIRST_VERSION_STEPS = 3

    async def applied(self, tx: Statements) -> int:
        await tx.execute("SELECT pg_advisory_xact_lock($1)", self.LOCK)
        await tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)"
        )
        version = int(await tx.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))
        return version + self.FIRST_VERSION_STEPS - 1 if version else 0

    async def record(self, tx: Statements, before: int, after: int) -> None:
        for version in range(self._version(before) + 1, self._version(after) + 1):
            await tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)

    def _version(self, steps: int) -> int:
        return max(0, steps - self.FIRST_VERSION_STEPS + 1)


BOOKKEEPING: dict[Dialect, Bookkeeping] = {"sqlite": UserVersion(), "postgresql": MigrationsTable()}


async def migrate(db: Database) -> None:
    """Applies the steps the database lacks."""
    bookkeeping = BOOKKEEPING[db.dialect]
    async with db.transaction() as tx:
        applied = await bookkeeping.applied(tx)
        for step in MIGRATIONS[applied:]:
            for statement in statements(step, db.dialect):
                await tx.execute(statement)
        if applied < len(MIGRATIONS):
            await bookkeeping.record(tx, applied, len(MIGRATIONS))
