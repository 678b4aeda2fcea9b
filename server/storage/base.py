"""Where these names were before storage was split by concept; server/services/registry.py
imports SortColumn from here. New code imports from nbpresign.server.storage."""

from __future__ import annotations

from nbpresign.server.storage.database import EventHandler
from nbpresign.server.storage.identities import DuplicateUser
from nbpresign.server.storage.instances import Cursor, DuplicateInstance, InstanceQuery, SortColumn
from nbpresign.server.storage.storage import Storage

__all__ = [
    "Cursor",
    "DuplicateInstance",
    "DuplicateUser",
    "EventHandler",
    "InstanceQuery",
    "SortColumn",
    "Storage",
]
