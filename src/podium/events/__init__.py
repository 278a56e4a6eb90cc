"""Events: the typed, append-only record every part of Podium writes and reads."""

from podium.events.clock import VectorClock
from podium.events.codec import decode_event
from podium.events.envelope import Envelope, validate_task_id
from podium.events.ordering import OrderingError, is_report_valid_for_current_code
from podium.events.projections import (
    ModuleState,
    ProjectionError,
    TaskState,
    project,
    project_in_order,
    state_at,
)
from podium.events.types import *  # noqa: F403 - the event classes are this package's API
from podium.events.types import EVENT_TYPES, TERMINAL_TYPES, Event, KnownEvent, UnknownEvent

__all__ = [
    "EVENT_TYPES", "TERMINAL_TYPES", "Envelope", "Event", "KnownEvent", "ModuleState",
    "OrderingError", "ProjectionError", "TaskState", "UnknownEvent", "VectorClock",
    "decode_event", "is_report_valid_for_current_code", "project", "project_in_order", "state_at",
    "validate_task_id",
]  # fmt: skip
