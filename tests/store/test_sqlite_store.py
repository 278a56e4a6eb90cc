import asyncio
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from podium.events import UnknownEvent
from podium.store import (
    ConcurrencyConflict,
    EventTooLarge,
    InvalidAppend,
    SqliteEventStore,
)

from ..events.factories import code, created

MIGRATIONS = Path(__file__).parents[2] / "src" / "podium" / "store" / "migrations"


def test_a_new_file_is_in_wal_mode_and_migrated(store: SqliteEventStore) -> None:
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert conn.execute("SELECT version_num FROM podium_alembic_version").fetchone()[0] == head
    SqliteEventStore(store.path).close()  # opening again is a no-op migration


def test_sequential_appends_get_seq_from_one_and_increasing_positions(store) -> None:
    stored = [store.append([code(i)])[0] for i in range(1, 6)]
    assert [e.seq for e in stored] == [1, 2, 3, 4, 5]
    assert [e.position for e in stored] == sorted(e.position for e in stored)
    assert store.version("task-1") == 5
    assert store.read_task("task-1") == stored


def test_seq_is_per_task_and_position_is_global(store) -> None:
    a = store.append([created("a")])[0]
    b = store.append([created("b")])[0]
    a2 = store.append([code(1, task_id="a")])[0]
    assert (a.seq, b.seq, a2.seq) == (1, 1, 2)
    assert (a.position, b.position, a2.position) == (1, 2, 3)
    assert [e.task_id for e in store.read_all()] == ["a", "b", "a"]
    assert [e.position for e in store.read_all(after_position=1)] == [2, 3]
    assert store.read_all(task_id="b") == [b]
    assert store.task_ids() == ["a", "b"]


def test_batch_append_is_one_unit(store) -> None:
    stored = store.append([created(), code(1), code(2)])
    assert [e.seq for e in stored] == [1, 2, 3]


def test_one_hundred_concurrent_appenders_get_1_to_100(store_path: Path) -> None:
    stores = [SqliteEventStore(store_path) for _ in range(4)]  # several handles on one file
    barrier = threading.Barrier(100)
    errors: list[BaseException] = []

    def append(i: int) -> None:
        try:
            barrier.wait()
            stores[i % 4].append([code(1, text=f"# writer {i}\n")])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = [e.seq for e in stores[0].read_task("task-1")]
    assert seqs == list(range(1, 101))
    for s in stores:
        s.close()


APPENDER = """
import sys
from podium.store import SqliteEventStore
from tests.events.factories import code
store = SqliteEventStore(sys.argv[1])
for i in range(25):
    store.append([code(1, text=f"# process {sys.argv[2]} event {i}\\n")])
"""


def test_appenders_in_separate_processes_share_one_gapless_sequence(store) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(store.path), str(n)],
                         cwd=Path(__file__).parents[2])
        for n in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    assert [e.seq for e in store.read_task("task-1")] == list(range(1, 101))
    assert [e.position for e in store.read_all()] == list(range(1, 101))


def test_a_stale_expected_version_is_a_conflict(store) -> None:
    store.append([created()], expected_version=0)
    store.append([code(1)], expected_version=1)
    with pytest.raises(ConcurrencyConflict, match="expected version 1 but the log is at version 2"):
        store.append([code(2)], expected_version=1)
    with pytest.raises(ConcurrencyConflict):
        store.append([created("other")], expected_version=3)
    assert store.version("task-1") == 2


def test_re_appending_a_stored_batch_is_a_no_op(store) -> None:
    batch = [created(), code(1)]
    first = store.append(batch, expected_version=0)
    again = store.append(batch, expected_version=0)  # a replayed step
    assert again == first
    assert len(store.read_task("task-1")) == 2


def test_a_half_replayed_batch_is_refused(store) -> None:
    first = created()
    store.append([first])
    with pytest.raises(InvalidAppend, match="1 of 2"):
        store.append([first, code(1)])
    assert len(store.read_task("task-1")) == 1


def test_one_append_may_not_mix_tasks_or_repeat_ids(store) -> None:
    with pytest.raises(InvalidAppend, match="one task"):
        store.append([created("a"), created("b")])
    event = created()
    with pytest.raises(InvalidAppend, match="twice"):
        store.append([event, event])
    assert store.read_all() == []


def test_read_after_seq_and_up_to_a_time(store) -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    store.append([created(timestamp=t0)])
    for i in range(1, 5):
        store.append([code(i, timestamp=t0 + timedelta(minutes=i))])
    assert [e.seq for e in store.read_task("task-1", after_seq=3)] == [4, 5]
    assert [e.seq for e in store.read_task("task-1", after_seq=-5)] == [1, 2, 3, 4, 5]
    until = store.read_task("task-1", until=t0 + timedelta(minutes=2))
    assert [e.seq for e in until] == [1, 2, 3]
    assert [e.seq for e in store.read_task("task-1", limit=2)] == [1, 2]
    assert store.read_task("missing") == []


def test_a_one_megabyte_payload_is_stored(store) -> None:
    big = "#" + "x" * (1024 * 1024) + "\n"
    stored = store.append([code(1, text=big)])[0]
    assert store.read_task("task-1")[0].data.code == big
    assert stored.seq == 1


def test_an_event_over_the_limit_is_refused_and_its_batch_is_not_stored(store_path) -> None:
    store = SqliteEventStore(store_path, max_event_bytes=64 * 1024)
    store.append([created()])
    with pytest.raises(EventTooLarge, match=r"CODE_GENERATED event .* limit is 65,536 bytes"):
        store.append([code(1), code(2, text="x" * 70_000)])
    assert [e.seq for e in store.read_task("task-1")] == [1]
    store.close()


def test_default_limit_is_eight_megabytes(store) -> None:
    with pytest.raises(EventTooLarge, match="8,388,608"):
        store.append([code(1, text="x" * (8 * 1024 * 1024 + 1))])


def test_unknown_event_types_are_kept_and_read_back(store) -> None:
    store.append([created()])
    body = created().model_dump_json().replace('"TASK_CREATED"', '"FROM_A_NEWER_PODIUM"')
    body = body.replace('"seq":0', '"seq":2').replace('"position":0', '"position":2')
    conn = sqlite3.connect(store.path)
    conn.execute(
        "INSERT INTO podium_events VALUES (2, randomblob(16), 'task-1', 2, "
        "'FROM_A_NEWER_PODIUM', '2024-01-01T00:00:00.000000Z', ?)", (body,)
    )
    conn.commit()
    events = store.read_task("task-1")
    assert isinstance(events[1], UnknownEvent) and events[1].type == "FROM_A_NEWER_PODIUM"
    assert store.append([code(1)])[0].seq == 3


async def test_subscribe_replays_then_follows_live_appends_without_gap_or_duplicate(store):
    for i in range(1, 4):
        store.append([code(i)])
    seen: list[int] = []

    async def consume() -> None:
        async for event in store.subscribe(after_position=1):
            seen.append(event.position)
            if len(seen) == 2 + 50:
                return

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.05)

    def writer() -> None:
        for i in range(50):
            store.append([code(1, task_id=f"live-{i % 3}")])

    await asyncio.to_thread(writer)
    await asyncio.wait_for(consumer, 10)
    assert seen == list(range(2, 54))


async def test_subscribe_sees_appends_made_by_another_process(store):
    got: list[str] = []

    async def consume() -> None:
        async for event in store.subscribe(task_id="task-1"):
            got.append(event.task_id)
            if len(got) == 25:
                return

    consumer = asyncio.create_task(consume())
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", APPENDER, str(store.path), "0", cwd=Path(__file__).parents[2]
    )
    assert await proc.wait() == 0
    await asyncio.wait_for(consumer, 10)
    assert got == ["task-1"] * 25


KILLED_WRITER = """
import sys
from podium.store import SqliteEventStore
from tests.events.factories import code
store = SqliteEventStore(sys.argv[1])
print("ready", flush=True)
for i in range(100000):
    store.append([code(1, text="#" + "x" * 20000 + "\\n") for _ in range(10)])
"""


def test_a_writer_killed_mid_batch_leaves_only_whole_batches(store) -> None:
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(store.path)],
                            cwd=Path(__file__).parents[2], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    while store.version("task-1") < 200:
        pass
    proc.kill()
    proc.wait()
    seqs = [e.seq for e in store.read_task("task-1")]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) % 10 == 0
    assert sqlite3.connect(store.path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.append([created()])[0].seq == len(seqs) + 1
