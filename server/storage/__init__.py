"""Storage: one SQL layer over two Database adapters, SQLite (the embedded default) and
PostgreSQL; callers use the Storage facade (open it with opening.open_storage)."""

from __future__ import annotations

from nbpresign.server.storage.console_sessions import ConsoleSession
from nbpresign.server.storage.database import RESYNC, EventHandler
from nbpresign.server.storage.errors import InvalidText, StorageError, StorageUnavailable
from nbpresign.server.storage.groups import DuplicateGroup
from nbpresign.server.storage.identities import DuplicateUser
from nbpresign.server.storage.instances import Cursor, DuplicateInstance, InstanceQuery, SortColumn
from nbpresign.server.storage.login_profiles import DuplicateLoginProfile
from nbpresign.server.storage.storage import Storage

__all__ = [
    "RESYNC",
    "ConsoleSession",
    "Cursor",
    "DuplicateGroup",
    "DuplicateInstance",
    "DuplicateLoginProfile",
    "DuplicateUser",
    "EventHandler",
    "InstanceQuery",
    "InvalidText",
    "SortColumn",
    "Storage",
    "StorageError",
    "StorageUnavailable",
]
