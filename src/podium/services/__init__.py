"""Application services shared by every interface."""

from podium.services.queue import Priority, QueueFull, QueueStatus
from podium.services.tasks import (
    DEFAULT_TENANT,
    TASK_STATUSES,
    CancelOutcome,
    InvalidInput,
    TaskNotFound,
    TaskPage,
    TaskReader,
    TaskService,
    build_provider,
    parse_point,
    parse_position,
)

__all__ = [
    "DEFAULT_TENANT", "TASK_STATUSES", "CancelOutcome", "InvalidInput", "Priority", "QueueFull",
    "QueueStatus", "TaskNotFound", "TaskPage", "TaskReader", "TaskService", "build_provider",
    "parse_point", "parse_position",
]  # fmt: skip
