"""What a Database raises. The adapters convert every driver error into one of these:

StorageError                the database refused a statement: a bug in the SQL
├── StorageUnavailable      the database cannot answer right now (down, frozen,
│                           locked, out of connections); worth retrying later
├── IntegrityViolation      a constraint refused a write
│   └── UniqueViolation     a row with that key exists; repositories raise their
│                           own DuplicateInstance and DuplicateUser from it
└── InvalidText             text the database cannot store (PostgreSQL refuses NUL);
                            also a ValueError, since the input is at fault
"""

from __future__ import annotations


class StorageError(Exception):
    pass


class StorageUnavailable(StorageError):
    pass


class IntegrityViolation(StorageError):
    pass


class UniqueViolation(IntegrityViolation):
    pass


class InvalidText(StorageError, ValueError):
    pass
