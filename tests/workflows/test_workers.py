"""Worker registrations on a real SQLite file: who is dead, who takes over, and only once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from podium.store import prepare_database
from podium.workflows.workers import HOST, Workers, is_running


class Recoveries:
    """Stands in for DBOS's recovery call: records which executor ids it was handed."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, executor_ids: list[str]) -> list[str]:
        self.calls.append(executor_ids)
        return [f"workflow-of-{worker}" for worker in executor_ids]

    @property
    def taken(self) -> list[str]:
        return [worker for call in self.calls for worker in call]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "podium.db"
    prepare_database(path)
    return path


def rows(database: Path) -> dict[str, tuple[str, int, float]]:
    with sqlite3.connect(database) as conn:
        return {worker: (host, pid, beat) for worker, host, pid, beat in conn.execute(
            "SELECT worker_id, host, pid, heartbeat_at FROM podium_workers")}


def add_row(database: Path, worker: str, *, host: str = HOST, pid: int, heartbeat_at: float,
            started_at: float | None = None) -> None:
    started_at = psutil.Process(pid).create_time() if started_at is None else started_at
    with sqlite3.connect(database) as conn:
        conn.execute("INSERT INTO podium_workers VALUES (?, ?, ?, ?, ?)",
                     (worker, host, pid, started_at, heartbeat_at))


def exited_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_pre_registration_executor_is_taken_over_by_the_first_process(database: Path):
    recover = Recoveries()
    workers = Workers(database, recover)
    workers.register()
    assert workers.take_over() == ["local"]  # migrated databases' workflows ran as "local"
    assert recover.taken == ["local"]
    assert workers.take_over() == []  # once only
    assert set(rows(database)) == {workers.worker_id}


def test_a_process_that_exited_is_taken_over_at_once_a_live_one_never(database: Path):
    add_row(database, "exited", pid=exited_pid(), heartbeat_at=time.time(), started_at=0)
    # This very pid, registered by an earlier process (pids are reused after a restart).
    add_row(database, "reused", pid=os.getpid(), heartbeat_at=time.time(),
            started_at=psutil.Process().create_time() - 100)
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as alive:
        try:
            add_row(database, "alive", pid=alive.pid, heartbeat_at=time.time())
            workers = Workers(database, Recoveries())
            workers.register()
            taken = workers.take_over()
        finally:
            alive.kill()
    assert {"exited", "reused"} <= set(taken) and "alive" not in taken
    assert "alive" in rows(database)


def test_a_stale_heartbeat_elsewhere_is_dead_a_fresh_one_is_not(database: Path):
    add_row(database, "stale", host="another-host", pid=1, heartbeat_at=time.time() - 31,
            started_at=0)
    add_row(database, "fresh", host="another-host", pid=1, heartbeat_at=time.time(),
            started_at=0)
    workers = Workers(database, Recoveries(), lease_s=30)
    workers.register()
    assert set(workers.take_over()) == {"local", "stale"}


def test_a_zombie_counts_as_exited() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started_at = psutil.Process(child.pid).create_time()
    deadline = time.monotonic() + 30
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child never exited"
        time.sleep(0.05)
    try:
        assert not is_running(child.pid, started_at)  # exited, not yet reaped
    finally:
        child.wait()
    assert is_running(os.getpid(), psutil.Process().create_time())


def test_many_claimants_take_each_dead_worker_over_exactly_once(database: Path):
    dead = [f"dead-{n}" for n in range(20)]
    for worker in dead:
        add_row(database, worker, host="another-host", pid=1, heartbeat_at=0, started_at=0)
    recoveries = [Recoveries() for _ in range(4)]
    claimants = [Workers(database, recover) for recover in recoveries]
    for claimant in claimants:
        claimant.register()
    start = threading.Barrier(len(claimants))

    def claim(workers: Workers) -> None:
        start.wait()
        workers.take_over()

    threads = [threading.Thread(target=claim, args=(c,)) for c in claimants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = [worker for recover in recoveries for worker in recover.taken]
    assert sorted(taken) == sorted([*dead, "local"])  # each once, none lost


def test_a_stopped_worker_is_released_and_the_heartbeat_takes_over_meanwhile(database: Path):
    first_recover = Recoveries()
    first = Workers(database, first_recover, heartbeat_s=0.05)
    first.register()
    first.start()
    try:
        second = Workers(database, Recoveries())
        second.register()
        second.stop()  # released: its heartbeat is 0
        deadline = time.monotonic() + 30
        while second.worker_id not in first_recover.taken:
            assert time.monotonic() < deadline, "the heartbeat never took the released over"
            time.sleep(0.05)
        assert rows(database)[first.worker_id][2] > 0  # still beating
    finally:
        first.stop()
    assert rows(database)[first.worker_id][2] == 0


def test_a_worker_taken_over_while_alive_registers_again(database: Path):
    workers = Workers(database, Recoveries(), heartbeat_s=0.05, lease_s=0.01)
    workers.register()
    other = Workers(database, Recoveries(), lease_s=0.01)
    other.register()
    time.sleep(0.05)
    assert workers.worker_id in other.take_over()  # its lease looked expired
    workers.start()
    try:
        deadline = time.monotonic() + 30
        while workers.worker_id not in rows(database):
            assert time.monotonic() < deadline, "the worker never registered again"
            time.sleep(0.05)
    finally:
        workers.stop()
        other.stop()
