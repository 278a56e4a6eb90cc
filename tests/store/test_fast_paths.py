"""Streamed reads, the faster read and append paths, and the rows they write."""

import gc
import random
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from podium.events import UnknownEvent, project
from podium.events.projections import project_in_order
from podium.store import InvalidAppend, SqliteEventStore, StorageError
from podium.store.sqlite import _iso

from ..events.factories import code, created, failed


def fill(store: SqliteEventStore, n: int, task_id: str = "task-1", t0=None) -> None:
    t0 = t0 or datetime.now(UTC) - timedelta(hours=1)
    store.append([created(task_id, timestamp=t0)])
    for i in range(1, n):
        event = (code if i % 2 else failed)((i + 1) // 2, task_id=task_id,
                                            timestamp=t0 + timedelta(seconds=i))
        store.append([event])


def test_iter_task_streams_what_read_task_returns(store) -> None:
    t0 = datetime.now(UTC) - timedelta(hours=1)
    fill(store, 10, t0=t0)
    fill(store, 4, task_id="other")
    assert list(store.iter_task("task-1", chunk=3)) == store.read_task("task-1")
    assert list(store.iter_task("task-1", chunk=10)) == store.read_task("task-1")
    assert list(store.iter_task("task-1", chunk=1000)) == store.read_task("task-1")
    assert list(store.iter_task("task-1", after_seq=4, chunk=2)) == store.read_task(
        "task-1", after_seq=4)
    until = t0 + timedelta(seconds=6)
    assert [e.seq for e in store.iter_task("task-1", until=until, chunk=2)] == list(range(1, 8))
    assert list(store.iter_task("missing")) == []


def test_iter_task_refuses_a_chunk_of_zero(store) -> None:
    with pytest.raises(ValueError, match="chunk"):
        next(store.iter_task("task-1", chunk=0))


def test_a_streamed_rebuild_equals_a_full_one(store) -> None:
    fill(store, 25)
    assert project_in_order(store.iter_task("task-1", chunk=4)) == project(
        store.read_task("task-1"))


def test_iter_task_sees_events_appended_after_the_chunk_it_is_in(store) -> None:
    fill(store, 4)
    stream = store.iter_task("task-1", chunk=2)
    assert [next(stream).seq, next(stream).seq] == [1, 2]
    store.append([code(9)])
    assert [e.seq for e in stream] == [3, 4, 5]


def _insert_raw(store: SqliteEventStore, seq: int, type_name: str, body: str) -> None:
    conn = sqlite3.connect(store.path)
    conn.execute(
        "INSERT INTO podium_events VALUES (?, randomblob(16), 'task-1', ?, ?, "
        "'2024-01-01T00:00:00.000000Z', ?)", (seq, seq, type_name, body)
    )
    conn.commit()
    conn.close()


def test_every_streamed_row_is_validated_and_unknown_types_are_kept(store) -> None:
    fill(store, 3)
    unknown = created().model_dump_json().replace('"TASK_CREATED"', '"FROM_A_NEWER_PODIUM"')
    _insert_raw(store, 4, "FROM_A_NEWER_PODIUM", unknown)
    assert isinstance(list(store.iter_task("task-1"))[-1], UnknownEvent)
    bad = failed(1).model_dump_json().replace('"tests_failed":1', '"tests_failed":-1')
    _insert_raw(store, 5, "TEST_FAILED", bad)
    with pytest.raises(ValidationError, match="tests_failed"):
        list(store.iter_task("task-1", chunk=2))
    with pytest.raises(ValidationError, match="tests_failed"):
        store.read_task("task-1")


@pytest.mark.parametrize("enabled", [True, False])
def test_reads_leave_the_collector_as_they_found_it(store, enabled: bool) -> None:
    fill(store, 3)
    _insert_raw(store, 4, "TEST_FAILED", "{not json")
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        assert len(store.read_task("task-1", limit=3)) == 3
        assert gc.isenabled() is enabled
        with pytest.raises(ValidationError):
            store.read_task("task-1")
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_a_read_that_fails_half_way_does_not_pin_the_connection(store_path) -> None:
    reader, writer = SqliteEventStore(store_path), SqliteEventStore(store_path)
    fill(reader, 3)
    _insert_raw(reader, 4, "TEST_FAILED", "{not json")
    reader.append([code(5), code(6)])  # rows after the bad one: the read stops mid-statement
    fill_more = [code(10, task_id="b"), code(11, task_id="b")]
    with pytest.raises(ValidationError) as failure:
        reader.read_task("task-1")
    # The failure (and its traceback) is still alive here; had the read left its statement
    # open, this connection would sit on an old snapshot and the append below would fail.
    writer.append(fill_more[:1])
    assert reader.append(fill_more[1:])[0].seq == 2
    assert failure.value is not None
    reader.close()
    writer.close()


def test_read_errors_are_still_storage_errors(store) -> None:
    fill(store, 2)
    conn = store._conn()
    conn.close()  # a closed connection makes every statement fail
    with pytest.raises(StorageError, match="reading the event store"):
        store.read_task("task-1")
    with pytest.raises(StorageError, match="reading the event store"):
        list(store.iter_task("task-1"))


def test_stored_rows_hold_the_events_json_and_fixed_width_times(store) -> None:
    t0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    events = [created(timestamp=t0), code(1, timestamp=t0 + timedelta(microseconds=7)),
              code(2, timestamp=datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC))]
    stored = store.append(events)
    rows = sqlite3.connect(store.path).execute(
        "SELECT timestamp, body FROM podium_events ORDER BY seq").fetchall()
    assert [body for _, body in rows] == [e.model_dump_json() for e in stored]
    assert [ts for ts, _ in rows] == [
        "2024-05-01T10:00:00.000000Z", "2024-05-01T10:00:00.000007Z",
        datetime(999, 1, 2, 3, 4, 5).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    ]


def test_iso_matches_strftime_everywhere() -> None:
    rng = random.Random(3)
    zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    for _ in range(2000):
        moment = datetime(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28),
                          rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                          rng.choice([0, rng.randint(0, 999_999)]), tzinfo=UTC)
        moment = moment.astimezone(rng.choice(zones)) if 2 <= moment.year <= 9998 else moment
        expected = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert _iso(moment) == expected


def test_a_replayed_batch_wins_over_its_stale_expected_version(store) -> None:
    batch = [created(), code(1)]
    first = store.append(batch, expected_version=0)
    store.append([code(2)])
    assert store.append(batch, expected_version=0) == first  # replay is checked first
    assert store.version("task-1") == 3


def test_a_batch_whose_later_event_is_stored_stores_nothing(store) -> None:
    stored = store.append([code(1)])[0]
    with pytest.raises(StorageError, match="append of 2 event.* stored nothing"):
        store.append([code(2), stored])
    with pytest.raises(InvalidAppend, match="1 of 2"):
        store.append([stored, code(3)])
    assert [e.seq for e in store.read_task("task-1")] == [1]


def test_single_and_batched_appends_write_the_same_rows(store_path) -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=1)
    events = [created(timestamp=t0), code(1, timestamp=t0), failed(1, timestamp=t0)]
    one, many = SqliteEventStore(store_path), SqliteEventStore(store_path.with_name("b.db"))
    singles = [one.append([e])[0] for e in events]
    batched = many.append(events)
    assert singles == batched
    assert one.read_task("task-1") == many.read_task("task-1") == batched
    one.close()
    many.close()
