"""TaskState: what a task looks like, rebuilt from its events and nothing else."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

import structlog
from pydantic import TypeAdapter

from podium.events.clock import VectorClock
from podium.events.ordering import OrderingError, is_report_valid_for_current_code
from podium.events.types import (
    BugReportReceived,
    CodeGenerated,
    Event,
    ModulePlan,
    TestFailed,
    TestPassed,
    UnknownEvent,
)

log = structlog.get_logger(__name__)


class ProjectionError(ValueError):
    """The events cannot be one task's history (duplicate seq, several tasks)."""


@dataclass
class TestResult:
    passed: bool
    round: int
    tests_passed: int
    tests_failed: int
    excerpt: str = ""


@dataclass
class ModuleState:
    name: str
    purpose: str = ""
    interface: str = ""
    status: str = "pending"  # pending, running, passed, failed
    rounds: int = 0
    path: str | None = None
    code: str | None = None
    code_version: int = 0
    code_hash: str | None = None
    vector_clock: VectorClock = field(default_factory=VectorClock.of)
    last_test: TestResult | None = None
    violations: list[dict[str, Any]] = field(default_factory=list)
    bug_reports: list[str] = field(default_factory=list)


@dataclass
class TaskState:
    """A task as of some point of its log. An empty log gives ``status == "unknown"``."""

    task_id: str | None = None
    status: str = "unknown"  # unknown, created, running, completed, failed, cancelled
    prompt: str = ""
    provider: str = ""
    model: str = ""
    workspace: str = ""
    plan: list[ModulePlan] = field(default_factory=list)
    plan_fallback: bool = False
    modules: dict[str, ModuleState] = field(default_factory=dict)
    corrections: int = 0
    llm_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    model_seconds: float = 0.0
    test_seconds: float = 0.0
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    reason: str = ""
    files: list[str] = field(default_factory=list)
    last_seq: int = 0
    stale_reports_ignored: int = 0
    resumptions: int = 0  # times another process took the task over
    idle_seconds: float = 0.0  # spent interrupted, before those take-overs

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (clocks as plain dicts, datetimes as ISO strings)."""
        return _STATE_ADAPTER.dump_python(self, mode="json")


_STATE_ADAPTER: TypeAdapter[TaskState] = TypeAdapter(TaskState)


def project(events: Iterable[Event], state: TaskState | None = None) -> TaskState:
    """Apply ``events`` in seq order to ``state`` (a fresh TaskState when None).

    Stale reports are ignored; unknown event types are skipped with a warning; a repeated seq
    raises ProjectionError because it means the log itself is corrupt.
    """
    return project_in_order(sorted(events, key=_SEQ), state)


def project_in_order(events: Iterable[Event], state: TaskState | None = None) -> TaskState:
    """``project`` for events that already come in seq order, as the store reads them.

    Each event is applied as it arrives and nothing is kept, so a rebuild from
    ``store.iter_task(task_id)`` needs memory for one chunk, not for the whole log. The rules are
    project's; in addition, a seq lower than the one before raises ProjectionError (project sorts
    first, so it never sees one).
    """
    state = state or TaskState()
    previous: int | None = None
    for event in events:
        seq = event.seq
        if previous is not None and seq < previous:
            raise ProjectionError(
                f"seq {seq} comes after seq {previous} in task {event.task_id}: not in seq order"
            )
        # In seq order, a repeated seq is the one just applied.
        if seq == previous or (state.last_seq and seq <= state.last_seq):
            raise ProjectionError(f"duplicate seq {seq} in task {event.task_id}")
        previous = seq
        if state.task_id is None:
            state.task_id = event.task_id
        elif event.task_id != state.task_id:
            raise ProjectionError(f"event of task {event.task_id} in task {state.task_id}'s log")
        _apply(state, event)
        state.last_seq = seq
    return state


_SEQ = attrgetter("seq")


def state_at(events: Iterable[Event], *, seq: int | None = None,
             at: datetime | None = None) -> TaskState:
    """Time travel: the state after the events up to ``seq`` and/or up to time ``at``."""
    chosen = [
        e for e in events
        if (seq is None or e.seq <= seq) and (at is None or e.timestamp <= at)
    ]
    return project(chosen)


def _module(state: TaskState, name: str) -> ModuleState:
    if name not in state.modules:
        state.modules[name] = ModuleState(name=name)
    return state.modules[name]


def _report_is_current(state: TaskState, module: ModuleState, event: Event) -> bool:
    try:
        current = is_report_valid_for_current_code(event, module)
    except OrderingError as exc:
        log.warning("report ahead of the code it describes", seq=event.seq, error=str(exc))
        current = False
    if not current:
        state.stale_reports_ignored += 1
    return current


def _apply(state: TaskState, event: Event) -> None:  # noqa: C901 - one branch per event type
    data: Any = event.data
    # Cases are tried in order, so the types a long log is mostly made of come first.
    match event.type:
        case "LLM_CALL":
            state.llm_calls += 1
            state.tokens_in += data.tokens_in
            state.tokens_out += data.tokens_out
            state.cost_usd += data.cost_usd
            state.model_seconds += data.latency_s
        case "CODE_GENERATED":
            assert isinstance(event, CodeGenerated)
            module = _module(state, data.module)
            if event.code_version < module.code_version:
                state.stale_reports_ignored += 1
                return
            module.code, module.path = data.code, data.path
            module.code_version, module.code_hash = event.code_version, event.code_hash
            module.vector_clock = event.vector_clock
            module.violations = []
        case "TEST_PASSED" | "TEST_FAILED":
            assert isinstance(event, (TestPassed, TestFailed))
            module = _module(state, data.module)
            state.test_seconds += data.duration_s
            if _report_is_current(state, module, event):
                failed = data.tests_failed if isinstance(event, TestFailed) else 0
                module.last_test = TestResult(
                    passed=isinstance(event, TestPassed), round=data.round,
                    tests_passed=data.tests_passed, tests_failed=failed,
                    excerpt=getattr(data, "excerpt", ""),
                )
        case "TEST_STARTED" | "TESTS_WRITTEN" | "CORRECTION_COMPLETED" if not isinstance(
            event, UnknownEvent
        ):
            pass  # known types with no effect on state
        case "TASK_CREATED":
            state.status = "created"
            state.prompt, state.provider, state.model = data.prompt, data.provider, data.model
            state.workspace = data.workspace
            state.created_at = event.timestamp
        case "TASK_STARTED":
            state.status = "running"
            state.started_at = state.started_at or event.timestamp
        case "TASK_RESUMED":
            state.resumptions += 1
            state.idle_seconds += data.idle_s
        case "PLANNING_COMPLETE":
            state.plan = list(data.modules)
            state.plan_fallback = data.fallback
            for plan in data.modules:
                module = _module(state, plan.name)
                module.purpose, module.interface = plan.purpose, plan.interface
        case "MODULE_STARTED":
            _module(state, data.module).status = "running"
        case "MODULE_ITERATION":
            _module(state, data.module).rounds = data.round
        case "QUALITY_VIOLATION":
            _module(state, data.module).violations = [v.model_dump() for v in data.violations]
        case "CORRECTION_STARTED":
            state.corrections += 1
        case "BUG_REPORT_RECEIVED":
            assert isinstance(event, BugReportReceived)
            module = _module(state, data.module)
            if _report_is_current(state, module, event):
                module.bug_reports.append(data.description)
        case "MODULE_COMPLETE":
            _module(state, data.module).status = "passed" if data.passed else "failed"
        case "TASK_COMPLETE":
            state.status, state.files, state.finished_at = "completed", data.files, event.timestamp
        case "TASK_FAILED":
            state.status, state.reason, state.finished_at = "failed", data.reason, event.timestamp
        case "TASK_CANCELLED":
            state.status, state.reason = "cancelled", data.reason
            state.finished_at = event.timestamp
        case _:
            if isinstance(event, UnknownEvent):
                log.warning("skipping unknown event type", type=event.type, seq=event.seq)
