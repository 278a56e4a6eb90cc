import logging
from datetime import UTC, datetime, timedelta

import pytest

from podium.events import EVENT_TYPES, ProjectionError, UnknownEvent, project, state_at
from podium.events.envelope import UnknownData
from podium.events.types import (
    BugReportReceived,
    BugReportReceivedData,
    LlmCall,
    LlmCallData,
    TaskComplete,
    TaskCompleteData,
    TestPassed,
    TestPassedData,
)

from .factories import code, created, failed


def numbered(*events):
    return [e.model_copy(update={"seq": i, "position": i}) for i, e in enumerate(events, 1)]


def test_empty_log_gives_an_empty_state() -> None:
    state = project([])
    assert state.status == "unknown" and state.modules == {} and state.task_id is None


def test_latest_code_version_wins_and_stale_reports_are_ignored() -> None:
    events = numbered(created(), code(1), code(2, text="y = 2\n"), failed(1))
    state = project(events)
    module = state.modules["main"]
    assert module.code_version == 2 and module.code == "y = 2\n"
    assert module.last_test is None
    assert state.stale_reports_ignored == 1


def test_a_current_report_is_recorded() -> None:
    state = project(numbered(created(), code(1), failed(1)))
    assert state.modules["main"].last_test.passed is False


def test_code_older_than_the_current_version_is_ignored() -> None:
    state = project(numbered(created(), code(3, text="new\n"), code(2, text="old\n")))
    assert state.modules["main"].code == "new\n"


def test_bug_report_for_old_version_is_ignored() -> None:
    report = BugReportReceived(task_id="task-1", code_version=1,
                               data=BugReportReceivedData(module="main", description="crash"))
    state = project(numbered(created(), code(1), code(2), report))
    assert state.modules["main"].bug_reports == []


def test_events_are_applied_in_seq_order_not_arrival_or_time_order() -> None:
    early, late = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    events = numbered(created(timestamp=late), code(1, timestamp=early), code(2, timestamp=early))
    state = project(reversed(events))
    assert state.modules["main"].code_version == 2


def test_duplicate_seq_is_an_error() -> None:
    a, b = numbered(created(), code(1))
    with pytest.raises(ProjectionError, match="duplicate seq 2"):
        project([a, b, b])


def test_unknown_type_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    unknown = UnknownEvent(task_id="task-1", type="NEW_THING", data=UnknownData())
    caplog.set_level(logging.WARNING)
    state = project(numbered(created(), unknown, code(1)))
    assert state.modules["main"].code_version == 1
    assert state.last_seq == 3


def test_every_type_is_handled(minimal_events) -> None:
    state = project(numbered(*minimal_events))
    assert state.status == "completed"
    assert {e.type for e in minimal_events} == set(EVENT_TYPES)
    assert (state.resumptions, state.idle_seconds) == (1, 12.5)  # from TASK_RESUMED


def test_tokens_cost_and_timings_add_up() -> None:
    call = LlmCallData(purpose="code", provider="p", model="m", tokens_in=10, tokens_out=5,
                       latency_s=0.5, cost_usd=0.25)
    passed = TestPassed(task_id="task-1", code_version=1, vector_clock={"coder": 1, "t": 1},
                        data=TestPassedData(module="main", round=1, tests_passed=2,
                                            duration_s=1.5))
    done = TaskComplete(task_id="task-1", data=TaskCompleteData(files=["main.py"], duration_s=3))
    events = numbered(created(), LlmCall(task_id="task-1", data=call),
                      LlmCall(task_id="task-1", data=call), code(1), passed, done)
    state = project(events)
    assert (state.llm_calls, state.tokens_in, state.tokens_out) == (2, 20, 10)
    assert state.cost_usd == pytest.approx(0.5) and state.model_seconds == pytest.approx(1.0)
    assert state.test_seconds == pytest.approx(1.5)
    assert state.status == "completed" and state.files == ["main.py"]
    assert state.modules["main"].last_test.tests_passed == 2


def test_time_travel_by_seq_and_by_time() -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    events = numbered(created(timestamp=t0), code(1, timestamp=t0 + timedelta(minutes=1)),
                      code(2, timestamp=t0 + timedelta(minutes=2)))
    assert state_at(events, seq=2).modules["main"].code_version == 1
    assert state_at(events, seq=1).modules == {}
    assert state_at(events, at=t0 + timedelta(seconds=90)).modules["main"].code_version == 1
    assert state_at(events, at=t0 - timedelta(seconds=1)).status == "unknown"


def test_incremental_projection_equals_a_full_rebuild() -> None:
    events = numbered(created(), code(1), failed(1), code(2))
    assert project(events[2:], project(events[:2])) == project(events)
    with pytest.raises(ProjectionError):
        project(events[1:], project(events[:2]))


def test_state_serializes_to_json() -> None:
    import json

    json.dumps(project(numbered(created(), code(1))).to_dict())
