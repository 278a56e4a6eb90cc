"""Store errors, one class per way an append or read can fail."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: something about the event store went wrong."""


class ConcurrencyConflict(StoreError):
    """An append's expected version is not the stream's current version."""

    def __init__(self, task_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"task {task_id}: expected version {expected} but the log is at version {actual}; "
            "another writer appended first — re-read and retry"
        )
        self.task_id, self.expected, self.actual = task_id, expected, actual


class EventTooLarge(StoreError):
    """One event's serialized size is over the configured limit."""


class InvalidAppend(StoreError):
    """The append itself is malformed (mixed tasks, half-replayed batch, ...)."""


class StorageError(StoreError):
    """The database refused the write (disk full, read-only file, locked too long).

    Nothing of the failed append is stored; everything stored before is intact.
    """
