"""The state cache over a real SQLite store: always what projecting the whole log gives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.events import project
from podium.events.types import LlmCall, LlmCallData, TaskCreated, TaskCreatedData
from podium.services.state_cache import StateCache
from podium.store import SqliteEventStore
from tests.events.factories import code, created


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    store = SqliteEventStore(tmp_path / "podium.db")
    yield store
    store.close()


def call(task_id: str = "task-1") -> LlmCall:
    return LlmCall(task_id=task_id, data=LlmCallData(purpose="code", provider="p", model="m",
                                                     tokens_in=3, tokens_out=5, latency_s=0.5))


def test_the_cached_state_follows_every_append(store: SqliteEventStore) -> None:
    cache = StateCache(store)
    assert cache.current("task-1") is None
    store.append([created()])
    for version in range(1, 6):
        store.append([call(), code(version, text=f"x = {version}\n")])
        tenant, state = cache.current("task-1")
        assert tenant == "default"
        assert state == project(store.read_task("task-1"))
    assert state.llm_calls == 5 and state.modules["main"].code == "x = 5\n"


def test_a_state_handed_out_is_never_changed_afterwards(store: SqliteEventStore) -> None:
    cache = StateCache(store)
    store.append([created(), call()])
    _, before = cache.current("task-1")
    store.append([call()])
    _, after = cache.current("task-1")
    assert (before.llm_calls, after.llm_calls) == (1, 2)


def test_the_tenant_comes_from_task_created(store: SqliteEventStore) -> None:
    data = TaskCreatedData(prompt="p", provider="x", model="y", max_rounds=1, workspace="w",
                           tenant="acme")
    store.append([TaskCreated(task_id="theirs", data=data)])
    assert StateCache(store).current("theirs")[0] == "acme"


def test_the_least_recently_read_task_is_dropped_and_read_again(
        store: SqliteEventStore) -> None:
    cache = StateCache(store, size=2)
    for task_id in ("a", "b", "c"):
        store.append([created(task_id), call(task_id)])
    states = {task_id: cache.current(task_id)[1] for task_id in ("a", "b", "c")}
    again = cache.current("a")[1]  # dropped when "c" came in: projected afresh
    assert again == states["a"] and again is not states["a"]
    assert cache.current("c")[1] is states["c"]  # still cached


def test_readers_racing_an_appender_only_ever_see_whole_prefixes(
        store: SqliteEventStore) -> None:
    cache = StateCache(store)
    store.append([created()])
    seen: list[tuple[int, int]] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            _, state = cache.current("task-1")
            seen.append((state.last_seq, state.llm_calls))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for _ in range(200):
        store.append([call()])
    done.set()
    for reader in readers:
        reader.join()
    assert seen and all(calls == last_seq - 1 for last_seq, calls in seen)
    assert cache.current("task-1")[1].llm_calls == 200
