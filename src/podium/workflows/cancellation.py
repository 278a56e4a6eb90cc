"""Cancelling a task: stopping its workflow and recording TASK_CANCELLED exactly once, last.

DBOS cancels a workflow by marking it CANCELLED (on request, or when its timeout passes); the
execution notices when its next step starts and stops there, so a step already running
finishes and appends its events first. The TASK_CANCELLED event must come after those, so it
is written by:

- the execution itself, when the task is executing in this process: it records the event when
  it notices, after its last step's events;
- the canceller, when nothing executes the task here (it was waiting in the queue, or the
  process running it died): an execution that starts later finds the workflow CANCELLED before
  its first step and so appends nothing else.

The event's id is derived from the task, so two writers racing store it once, and it is only
appended while the log has no terminal event: a task that finished first stays finished.

A reason given with a request is kept in this process; an execution elsewhere that notices a
cancellation it was not told about records a generic reason.
"""

from __future__ import annotations

import contextvars
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from dbos import DBOS, WorkflowStatus
from dbos import error as dbos_error

from podium.events import TERMINAL_TYPES
from podium.events.types import TaskCancelled, TaskCancelledData
from podium.store import ConcurrencyConflict, SqliteEventStore

_CANCELLED_NAMESPACE = uuid.UUID("0b5f4a4e-9d0a-4c1e-8f0e-6a9d3c2b7e51")
UNSPECIFIED_REASON = "cancelled on request"
# What a workflow's next step raises once DBOS has cancelled it: cancelled when the step starts,
# or no longer owned (a cancel clears the owner) when a running step records its result.
STOPPED = (dbos_error.DBOSWorkflowCancelledError, dbos_error.DBOSWorkflowConflictIDError)

_lock = threading.Lock()
_executing: set[str] = set()
_reasons: dict[str, str] = {}


@contextmanager
def executing(task_id: str) -> Iterator[None]:
    """Mark the task as executing in this process for the duration of its workflow body."""
    with _lock:
        _executing.add(task_id)
    try:
        yield
    finally:
        with _lock:
            _executing.discard(task_id)
            _reasons.pop(task_id, None)


def request(store: SqliteEventStore, task_id: str, reason: str) -> None:
    """Cancel the task's workflow with ``reason``; record TASK_CANCELLED unless an execution in
    this process will. The first reason given for a task is the one recorded."""
    with _lock:
        _reasons.setdefault(task_id, reason)
    DBOS.cancel_workflow(task_id)
    # Checked after the cancel: an execution not registered by now starts no step that could
    # append after this event (its first step already sees the workflow CANCELLED).
    with _lock:
        running_here = task_id in _executing
    if not running_here:
        record(store, task_id, reason)


def record_if_cancelled(store: SqliteEventStore, task_id: str) -> None:
    """Called by an execution that was stopped: record TASK_CANCELLED if DBOS cancelled the
    workflow (another execution that took it over records nothing here)."""
    status = _workflow_status(task_id)
    if status is not None and status.status == "CANCELLED":
        record(store, task_id, reason_for(task_id))


def reason_for(task_id: str) -> str:
    """Why the task's workflow was cancelled: the reason requested in this process, else its
    timeout when the deadline has passed, else a generic reason."""
    with _lock:
        requested = _reasons.get(task_id)
    if requested is not None:
        return requested
    status = _workflow_status(task_id)
    deadline = status.workflow_deadline_epoch_ms if status else None
    if deadline is not None and time.time() * 1000 >= deadline:
        limit = (status.workflow_timeout_ms or 0) / 1000 if status else 0
        return f"timed out: the task ran longer than its limit of {limit:g} s"
    return UNSPECIFIED_REASON


def _workflow_status(task_id: str) -> WorkflowStatus | None:
    # Read in an empty context: inside a workflow DBOS would record the call as a step, and a
    # cancelled workflow refuses to start steps.
    return contextvars.Context().run(DBOS.get_workflow_status, task_id)


def record(store: SqliteEventStore, task_id: str, reason: str) -> bool:
    """Append TASK_CANCELLED with ``reason`` unless the log already ends the task.

    Returns True when the log now ends with this cancellation, False when the task had
    already completed or failed.
    """
    event = TaskCancelled(event_id=uuid.uuid5(_CANCELLED_NAMESPACE, task_id), task_id=task_id,
                          data=TaskCancelledData(reason=reason))
    while True:
        version = store.version(task_id)
        if version == 0:
            raise LookupError(f"no task with id {task_id!r}")
        last = store.read_task(task_id, after_seq=version - 1)[-1]
        if last.type in TERMINAL_TYPES:
            return last.event_id == event.event_id
        try:
            store.append([event], expected_version=version)
            return True
        except ConcurrencyConflict:
            continue  # the workflow appended meanwhile: look again
