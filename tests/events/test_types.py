import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from podium.events import EVENT_TYPES, UnknownEvent, decode_event
from podium.events.types import TaskCreatedData

from .factories import created

NAMED_IN_THE_DESIGN = {
    "TASK_CREATED", "TASK_STARTED", "PLANNING_COMPLETE", "MODULE_STARTED", "MODULE_ITERATION",
    "CODE_GENERATED", "QUALITY_VIOLATION", "TEST_STARTED", "TEST_PASSED", "TEST_FAILED",
    "CORRECTION_STARTED", "CORRECTION_COMPLETED", "BUG_REPORT_RECEIVED", "MODULE_COMPLETE",
    "LLM_CALL", "TASK_COMPLETE", "TASK_FAILED", "TASK_CANCELLED",
}  # fmt: skip


def test_every_named_type_exists() -> None:
    assert set(EVENT_TYPES) >= NAMED_IN_THE_DESIGN


def test_events_are_frozen() -> None:
    event = created()
    with pytest.raises(ValidationError):
        event.seq = 5  # type: ignore[misc]


def test_round_trip_through_json_keeps_everything() -> None:
    event = created(correlation_id=uuid.uuid4())
    again = decode_event(event.type, event.model_dump_json())
    assert again == event


@pytest.mark.parametrize(
    ("task_id", "fragment"),
    [
        ("", "non-empty"),
        ("a" * 201, "at most 200"),
        ("a/b", "'/'"),
        ("a\\b", "'\\\\\\\\'"),
        ("a\x00b", "'\\\\x00'"),
        ("tâche", "'â'"),
        ("..", "start with a letter"),
        ("-x", "start with a letter"),
    ],
)
def test_bad_task_ids_are_refused_with_the_reason(task_id: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        created(task_id)
    assert "task_id" in str(info.value)
    assert fragment.replace("\\\\", "\\") in str(info.value)


def test_task_id_of_200_safe_characters_is_fine() -> None:
    assert created("a" * 200).task_id == "a" * 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("event_id", "not-a-uuid"), ("seq", -1), ("position", -3), ("code_version", -1),
     ("vector_clock", {"p": -1}), ("vector_clock", {"p": "x"})],
)
def test_bad_envelope_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        created(**{field: value})
    assert field in str(info.value)


def test_seq_zero_and_empty_clock_and_no_causation_are_valid() -> None:
    event = created(seq=0, vector_clock={}, causation_id=None)
    assert event.seq == 0 and event.causation_id is None


def test_timestamp_must_be_utc_aware_and_not_in_the_future() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        created(timestamp=datetime(2024, 1, 1))
    with pytest.raises(ValidationError, match="future"):
        created(timestamp=datetime.now(UTC) + timedelta(hours=1))
    within_skew = datetime.now(UTC) + timedelta(seconds=10)
    assert created(timestamp=within_skew).timestamp == within_skew
    plus_two = timezone(timedelta(hours=2))
    event = created(timestamp=datetime(2024, 1, 1, 12, tzinfo=plus_two))
    assert event.timestamp == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert event.timestamp.tzinfo == UTC


def test_iso_8601_strings_are_accepted() -> None:
    assert created(timestamp="2024-05-01T10:00:00Z").timestamp.year == 2024


def test_a_stored_event_from_the_future_still_reads_back() -> None:
    body = json.loads(created().model_dump_json())
    body["timestamp"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert decode_event("TASK_CREATED", json.dumps(body)).task_id == "task-1"


def test_payload_rejects_unknown_fields_and_wrong_types() -> None:
    with pytest.raises(ValidationError, match="extra"):
        TaskCreatedData(prompt="p", provider="x", model="m", max_rounds=1, workspace="w",
                        surprise=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="max_rounds"):
        TaskCreatedData(prompt="p", provider="x", model="m", max_rounds=0, workspace="w")


def test_free_form_data_must_be_json() -> None:
    from podium.events.types import LlmCall, LlmCallData

    fields = dict(purpose="code", provider="p", model="m", tokens_in=1, tokens_out=1,
                  latency_s=0.1)
    LlmCall(task_id="t", data=LlmCallData(**fields, extra={"k": [1, "a", None]}))
    with pytest.raises(ValidationError):
        LlmCallData(**fields, extra={"k": {1, 2}})
    with pytest.raises(ValidationError):
        LlmCallData(**fields, extra={"k": object()})


def test_large_payload_is_fine_in_memory() -> None:
    from podium.events.types import CodeGeneratedData

    big = "x" * (1024 * 1024 + 1)
    assert len(CodeGeneratedData(module="m", round=1, path="m.py", code=big).code) > 1024 * 1024


def test_unknown_type_decodes_as_unknown_event() -> None:
    body = json.loads(created().model_dump_json())
    body["type"] = "FROM_THE_FUTURE"
    body["data"] = {"anything": [1, 2]}
    event = decode_event("FROM_THE_FUTURE", json.dumps(body))
    assert isinstance(event, UnknownEvent)
    assert event.type == "FROM_THE_FUTURE"
    assert event.data.model_dump() == {"anything": [1, 2]}
