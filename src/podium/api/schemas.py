"""Request and response bodies of the REST API (they make the published OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from podium.api.keys import Principal
from podium.events import Event
from podium.events.envelope import TASK_ID_MAX_LENGTH
from podium.services import CancelOutcome, Priority, TaskPage
from podium.services.tasks import MAX_PROMPT_CHARS
from podium.store import TaskSummary

PriorityInput = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "BACKGROUND", 0, 10, 20, 30, 40]
PriorityName = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "BACKGROUND"]
TaskStatus = Literal["created", "running", "completed", "failed", "cancelled"]


class TaskSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS,
                        description="what to build, in plain words")
    tests: str | None = Field(None, max_length=1_000_000,
                              description="a pytest file the code must pass")
    priority: PriorityInput = Field("MEDIUM", description="a name, or its value: a lower "
                                    "value starts first")
    provider: str | None = Field(None, min_length=1, max_length=100,
                                 description="the provider to use; must be one configured")
    model: str | None = Field(None, min_length=1, max_length=200,
                              description="the model to use; must be one served")
    budget_usd: float | None = Field(None, gt=0, le=1_000_000,
                                     description="spending limit for the task's model calls")
    max_rounds: int | None = Field(None, ge=1, le=20, description="correction rounds")
    timeout_s: float | None = Field(None, gt=0, le=7 * 24 * 3600,
                                    description="cancel the task when it runs longer")
    task_id: str | None = Field(None, min_length=1, max_length=TASK_ID_MAX_LENGTH,
                                description="choose the id; submitting it again starts "
                                            "nothing new")

    @field_validator("prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the task prompt is empty")
        return value


class TaskLinks(BaseModel):
    self_: str = Field(alias="self")
    events: str
    stream: str = Field(description="WebSocket: replay then live events")
    sse: str = Field(description="server-sent events: replay then live events")

    @classmethod
    def of(cls, task_id: str) -> TaskLinks:
        base = f"/v1/tasks/{task_id}"
        return cls.model_validate({"self": base, "events": f"{base}/events",
                                   "stream": f"{base}/stream", "sse": f"{base}/events/stream"})


class TaskAccepted(BaseModel):
    task_id: str
    status: TaskStatus
    priority: PriorityName
    links: TaskLinks

    @classmethod
    def of(cls, task_id: str, status: str, priority: Priority) -> TaskAccepted:
        return cls(task_id=task_id, status=status, priority=priority.name,  # type: ignore[arg-type]
                   links=TaskLinks.of(task_id))


class TaskSummaryOut(BaseModel):
    task_id: str
    status: TaskStatus
    priority: int
    created_at: str
    prompt: str = Field(description="the prompt's first 200 characters")
    links: TaskLinks

    @classmethod
    def of(cls, summary: TaskSummary) -> TaskSummaryOut:
        return cls(task_id=summary.task_id, status=summary.status,  # type: ignore[arg-type]
                   priority=summary.priority, created_at=summary.created_at,
                   prompt=summary.prompt, links=TaskLinks.of(summary.task_id))


class TaskList(BaseModel):
    tasks: list[TaskSummaryOut]
    next_before: int | None = Field(description="pass as `before` for the next page; null on "
                                                "the last page")

    @classmethod
    def of(cls, page: TaskPage) -> TaskList:
        return cls(tasks=[TaskSummaryOut.of(t) for t in page.tasks], next_before=page.next_before)


class EventPage(BaseModel):
    task_id: str
    events: list[dict[str, Any]] = Field(description="events in seq order, each with its "
                                                     "`seq` and global `position`")
    has_more: bool
    next_after: int = Field(description="pass as `after` for the next page")

    @classmethod
    def of(cls, task_id: str, events: list[Event], *, limit: int, after: int) -> EventPage:
        """The page of ``events``, read with one more than ``limit`` to learn whether more
        follow."""
        shown = events[:limit]
        return cls(task_id=task_id, events=[e.model_dump(mode="json") for e in shown],
                   has_more=len(events) > limit, next_after=shown[-1].seq if shown else after)


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, min_length=1, max_length=500)


class CancelResult(BaseModel):
    task_id: str
    outcome: Literal["cancelled", "cancelling", "already_finished"]
    status: TaskStatus
    message: str

    @classmethod
    def of(cls, outcome: CancelOutcome) -> CancelResult:
        return cls(task_id=outcome.task_id, outcome=outcome.outcome,
                   status=outcome.status, message=outcome.message)  # type: ignore[arg-type]


def cancel_reason(caller: Principal, reason: str | None, *, interface: str) -> str:
    """The reason a TASK_CANCELLED event records: who asked (never a secret), and why."""
    who = f"API key {caller.key_id}" if caller.key_id else f"a local {interface} client"
    return f"cancelled by {who}" + (f": {reason}" if reason else "")


class FileList(BaseModel):
    task_id: str
    files: list[str]


class QueueOut(BaseModel):
    waiting: dict[str, int] = Field(description="waiting tasks by priority")
    waiting_total: int
    running: int
    concurrency: int = Field(description="at most this many tasks run at once")
    max_waiting: int = Field(description="beyond this many waiting, submissions get 429")


class ProviderOut(BaseModel):
    name: str
    model: str
    status: Literal["up", "down", "unknown"]
    detail: str
    models: list[str]
    breaker: str | None
    deployment: str | None = Field(default=None, description="the router's deployment")
    requests_today: int | None = Field(default=None, description="against the daily quota")


class WsStats(BaseModel):
    connections: int
    capacity: int
    utilization: float = Field(description="connections / capacity, 0 to 1")


class Liveness(BaseModel):
    status: Literal["ok"]


class Check(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    reason: str = ""
    database: Check
    providers: list[ProviderOut]
