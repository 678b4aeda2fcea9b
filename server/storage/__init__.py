"""Storage: one interface (`Storage`), SQLite as the embedded default."""

from __future__ import annotations

from nbpresign.server.storage.base import (
    Cursor,
    DuplicateInstance,
    InstanceQuery,
    Storage,
)

__all__ = ["Cursor", "DuplicateInstance", "InstanceQuery", "Storage"]
