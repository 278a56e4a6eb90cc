"""The faster encode/decode and projection paths give exactly what the plain ones give."""

import random

import pytest

from podium.events import EVENT_TYPES, ProjectionError, UnknownEvent, decode_event, project
from podium.events import projections as projections_module
from podium.events.codec import encode_event
from podium.events.envelope import UnknownData
from podium.events.projections import TaskState, project_in_order

from .factories import code, created, failed


def numbered(*events):
    return [e.model_copy(update={"seq": i, "position": i}) for i, e in enumerate(events, 1)]


def test_encode_event_is_model_dump_json_for_every_type(minimal_events) -> None:
    assert {e.type for e in minimal_events} == set(EVENT_TYPES)
    for event in numbered(*minimal_events):
        assert encode_event(event) == event.model_dump_json()
        again = decode_event(event.type, encode_event(event))
        assert type(again) is type(event) and again == event


def test_encode_event_keeps_unknown_events_whole() -> None:
    event = UnknownEvent(task_id="task-1", type="NEW_THING", data=UnknownData(anything=[1, "a"]))
    assert encode_event(event) == event.model_dump_json()
    assert decode_event("NEW_THING", encode_event(event)) == event


def test_decode_event_still_validates_stored_bodies() -> None:
    body = failed(1).model_dump_json().replace('"tests_failed":1', '"tests_failed":-1')
    with pytest.raises(ValueError, match="tests_failed"):
        decode_event("TEST_FAILED", body)
    with pytest.raises(ValueError):
        decode_event("TASK_CREATED", code(1).model_dump_json())  # body of another type


def test_in_order_projection_equals_project(minimal_events) -> None:
    events = numbered(*minimal_events, code(2), failed(2), code(1))
    assert project_in_order(events) == project(events)
    assert project_in_order(iter(events)) == project(events)  # a one-pass stream is enough


def test_project_still_sorts_by_seq() -> None:
    events = numbered(created(), code(1), code(2, text="y\n"), failed(2), failed(1))
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)
    assert project(shuffled) == project_in_order(events)


def test_in_order_projection_refuses_a_seq_that_goes_back() -> None:
    a, b, c = numbered(created(), code(1), code(2))
    with pytest.raises(ProjectionError, match="seq 2 comes after seq 3 .* not in seq order"):
        project_in_order([a, c, b])


def test_in_order_projection_refuses_duplicates_like_project() -> None:
    a, b = numbered(created(), code(1))
    for fn in (project, project_in_order):
        with pytest.raises(ProjectionError, match="duplicate seq 2"):
            fn([a, b, b])
        with pytest.raises(ProjectionError, match="duplicate seq 2"):
            fn([b], fn([a, b]))  # already applied to the state


def test_two_unnumbered_events_are_still_a_duplicate() -> None:
    with pytest.raises(ProjectionError, match="duplicate seq 0"):
        project([created(), code(1)])


def test_incremental_in_order_projection_equals_a_full_rebuild() -> None:
    events = numbered(created(), code(1), failed(1), code(2))
    assert project_in_order(events[2:], project_in_order(events[:2])) == project(events)


def test_in_order_projection_refuses_another_tasks_event() -> None:
    a = numbered(created())[0]
    other = code(1, task_id="other").model_copy(update={"seq": 2})
    with pytest.raises(ProjectionError, match="event of task other in task task-1's log"):
        project_in_order([a, other])


class _Log:
    def __init__(self) -> None:
        self.warnings: list[tuple[str, dict]] = []

    def warning(self, message: str, **fields) -> None:
        self.warnings.append((message, fields))


def test_an_unknown_event_named_like_an_ignored_type_is_still_warned_about(monkeypatch) -> None:
    log = _Log()
    monkeypatch.setattr(projections_module, "log", log)
    odd = UnknownEvent(task_id="task-1", type="TEST_STARTED", data=UnknownData())
    state = project(numbered(created(), odd))
    assert log.warnings == [("skipping unknown event type", {"type": "TEST_STARTED", "seq": 2})]
    assert state.last_seq == 2


def test_known_types_without_effect_are_skipped_silently(minimal_events, monkeypatch) -> None:
    log = _Log()
    monkeypatch.setattr(projections_module, "log", log)
    quiet = [e for e in minimal_events
             if e.type in {"TEST_STARTED", "TESTS_WRITTEN", "CORRECTION_COMPLETED"}]
    assert len(quiet) == 3
    events = numbered(created(), *quiet)
    state = project(events)
    expected = project(events[:1], TaskState())
    expected.last_seq = 4
    assert log.warnings == [] and state == expected
