"""The event store: the append-only log every reader rebuilds state from."""

from podium.store.errors import (
    ConcurrencyConflict,
    EventTooLarge,
    InvalidAppend,
    StorageError,
    StoreError,
)
from podium.store.schema import MAX_INTEGER
from podium.store.sqlite import (
    DEFAULT_MAX_EVENT_BYTES,
    SqliteEventStore,
    TaskSummary,
    prepare_database,
)

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES", "MAX_INTEGER", "ConcurrencyConflict", "EventTooLarge",
    "InvalidAppend", "SqliteEventStore", "StorageError", "StoreError", "TaskSummary",
    "prepare_database",
]  # fmt: skip
