"""The task queue: one DBOS queue with priorities, a concurrency limit and a bound on waiting.

DBOS keeps the queue in the same database as the workflows, so queued tasks survive a restart
and several processes share one limit. It starts the most urgent task first (lowest priority
number), and tasks of equal priority in arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID, SetWorkflowTimeout

from podium.config import Settings
from podium.workflows.coding import coding_workflow

QUEUE_NAME = "podium-tasks"


class Priority(IntEnum):
    """A task's urgency: a lower value starts first."""

    CRITICAL = 0
    HIGH = 10
    MEDIUM = 20
    LOW = 30
    BACKGROUND = 40

    @classmethod
    def parse(cls, value: int | str) -> Priority:
        """A priority from its name (any case) or its value; ValueError naming the choices."""
        if isinstance(value, str) and value.strip().upper() in cls.__members__:
            return cls[value.strip().upper()]
        try:
            return cls(int(value))
        except (TypeError, ValueError):
            choices = ", ".join(f"{p.name} ({p.value})" for p in cls)
            raise ValueError(f"priority {value!r} is not one of {choices}") from None


def label(dbos_priority: int | None) -> str:
    """The name of the priority DBOS stores (our value + 1, as DBOS's most urgent is 1)."""
    try:
        return Priority((dbos_priority or 0) - 1).name
    except ValueError:
        return str(dbos_priority)


class QueueFull(RuntimeError):
    """Submission refused: as many tasks are waiting as the queue allows."""

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(f"the task queue is full: {limit} tasks are waiting (at most "
                         f"{limit}); try again in {retry_after_s} s")
        self.limit, self.retry_after_s = limit, retry_after_s


@dataclass(frozen=True)
class QueueStatus:
    waiting: dict[str, int]  # by priority name, every priority listed
    running: int
    concurrency: int
    max_waiting: int


class TaskQueue:
    """Enqueues coding workflows; needs DBOS launched (it registers the queue)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # "always_update": the limits configured for this process apply to the shared queue.
        self._queue = DBOS.register_queue(
            QUEUE_NAME, global_concurrency=settings.queue_concurrency,
            polling_interval_sec=settings.queue_poll_s, on_conflict="always_update")

    def enqueue(self, task_id: str, priority: int, timeout_s: float | None) -> None:
        """Queue the task's workflow under the task's id. The timeout starts when it starts."""
        with (SetWorkflowID(task_id), SetEnqueueOptions(priority=priority + 1),
              SetWorkflowTimeout(timeout_s)):
            self._queue.enqueue(coding_workflow, task_id)

    def check_room(self) -> None:
        """Raise QueueFull when the waiting tasks already reach the limit."""
        limit = self.settings.queue_max_waiting
        # Only the limit-th waiting task is fetched: listing them all cost milliseconds.
        last_place = DBOS.list_queued_workflows(
            queue_name=QUEUE_NAME, status="ENQUEUED", limit=1, offset=limit - 1,
            load_input=False, load_output=False)
        if last_place:
            raise QueueFull(limit, self.settings.queue_full_retry_after_s)

    def status(self) -> QueueStatus:
        queued = DBOS.list_queued_workflows(queue_name=QUEUE_NAME, status=["ENQUEUED", "PENDING"],
                                            load_input=False, load_output=False)
        waiting = {p.name: 0 for p in Priority}
        for workflow in queued:
            if workflow.status == "ENQUEUED":
                name = label(workflow.priority)
                waiting[name] = waiting.get(name, 0) + 1
        return QueueStatus(waiting=waiting, running=sum(w.status == "PENDING" for w in queued),
                           concurrency=self.settings.queue_concurrency,
                           max_waiting=self.settings.queue_max_waiting)
