"""The envelope every event carries, and its validation rules."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from podium.events.clock import VectorClock

# A task id names a folder on disk and appears in URLs, so it is kept to a portable safe set.
TASK_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
TASK_ID_MAX_LENGTH = 200
# Clocks of cooperating machines drift; beyond this an event "from the future" is refused.
FUTURE_SKEW = timedelta(seconds=60)
# Validation context key that marks events read back from the store: they were checked on
# write, and re-checking "not in the future" against today's clock would reject good history.
STORED = "stored"


def validate_task_id(value: str) -> str:
    """Return ``value`` if it is a usable task id, else raise ValueError saying why."""
    if not isinstance(value, str) or not value:
        raise ValueError("task_id must be a non-empty string")
    if len(value) > TASK_ID_MAX_LENGTH:
        raise ValueError(f"task_id is {len(value)} characters; at most {TASK_ID_MAX_LENGTH}")
    if not TASK_ID_PATTERN.fullmatch(value):
        bad = sorted({c for c in value if not re.fullmatch(r"[A-Za-z0-9._-]", c)})
        shown = ", ".join(repr(c) for c in bad) or "a leading '.', '-' or '_'"
        raise ValueError(
            f"task_id {value[:40]!r} has characters outside letters, digits, '.', '_' and '-' "
            f"(or does not start with a letter or digit): {shown}"
        )
    return value


TaskId = Annotated[str, AfterValidator(validate_task_id)]


class Envelope(BaseModel):
    """Fields shared by every event. Subclasses add ``type`` and a typed ``data``.

    ``seq`` and ``position`` are 0 until the store assigns them on append: ``seq`` is gapless
    per task from 1, ``position`` is the global order across all tasks.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    __test__ = False  # "TestPassed" and friends are events, not pytest test classes

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    task_id: TaskId
    seq: int = Field(default=0, ge=0)
    position: int = Field(default=0, ge=0)
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    actor: str = "podium"
    causation_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None
    vector_clock: VectorClock = Field(default_factory=VectorClock.of)
    code_version: int = Field(default=0, ge=0)
    code_hash: str | None = None

    @field_validator("timestamp")
    @classmethod
    def _utc_and_not_future(cls, value: datetime, info: ValidationInfo) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("timestamp must carry a time zone (ISO 8601 with Z or +00:00)")
        value = value.astimezone(UTC)
        stored = bool(info.context and info.context.get(STORED))
        if not stored and value > datetime.now(UTC) + FUTURE_SKEW:
            raise ValueError(f"timestamp {value.isoformat()} is in the future")
        return value


class UnknownData(BaseModel):
    """Payload of an event type this version of Podium does not know: kept, not interpreted."""

    model_config = ConfigDict(frozen=True, extra="allow")
