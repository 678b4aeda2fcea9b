"""Storage: one interface (`Storage`), SQLite as the embedded default."""

from __future__ import annotations

from nbpresign.server.storage.base import (
    Cursor,
    DuplicateInstance,
    DuplicateUser,
    InstanceQuery,
    Storage,
)

__all__ = ["Cursor", "DuplicateInstance", "DuplicateUser", "InstanceQuery", "Storage"]
