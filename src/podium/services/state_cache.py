"""The current state of recently read tasks, brought up to date from the events appended since.

Reading a task's status then costs one indexed query for the events after the cached seq
(usually none) instead of decoding and projecting its whole log: a long task is projected once,
then one event at a time.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict

from podium.events import TaskState, project_in_order
from podium.store import SqliteEventStore

DEFAULT_SIZE = 4096  # tasks kept, least recently read dropped first


class StateCache:
    """Thread-safe. The states it returns are shared: read them, never change them."""

    def __init__(self, store: SqliteEventStore, size: int = DEFAULT_SIZE) -> None:
        self._store, self._size = store, size
        self._entries: OrderedDict[str, tuple[str, TaskState]] = OrderedDict()
        self._lock = threading.Lock()

    def current(self, task_id: str) -> tuple[str, TaskState] | None:
        """The task's tenant and its state as of the latest event; None for no such task."""
        with self._lock:
            entry = self._entries.get(task_id)
            if entry is not None:
                self._entries.move_to_end(task_id)
        known = entry[1].last_seq if entry else 0
        new = self._store.read_task(task_id, after_seq=known)
        if not new:
            return entry
        # Applied to a copy: another thread may be reading the cached state right now.
        tenant = entry[0] if entry else new[0].data.tenant  # seq 1 is TASK_CREATED
        state = project_in_order(new, copy.deepcopy(entry[1]) if entry else None)
        with self._lock:
            cached = self._entries.get(task_id)
            if cached is None or cached[1].last_seq < state.last_seq:
                self._entries[task_id] = (tenant, state)
                self._entries.move_to_end(task_id)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return tenant, state
