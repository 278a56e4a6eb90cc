"""Disk-full and read-only storage, on real tmpfs mounts (the tests run as root)."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.store import SqliteEventStore, StorageError

from ..events.factories import code, created


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_disk_full_is_a_clear_error_and_loses_nothing_stored(small_disk: Path) -> None:
    store = SqliteEventStore(small_disk / "podium.db")
    store.append([created()])
    stored = 1
    with pytest.raises(StorageError, match="full"):
        for i in range(1, 1000):
            store.append([code(i, text="#" + "x" * 50_000 + "\n")])
            stored += 1
    events = store.read_task("task-1")
    assert [e.seq for e in events] == list(range(1, stored + 1))
    store.close()


def test_a_read_only_database_is_a_clear_error_and_stays_readable(small_disk: Path) -> None:
    path = small_disk / "podium.db"
    store = SqliteEventStore(path)
    store.append([created()])
    store.close()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    with pytest.raises(StorageError, match=r"event store at .*podium.db"):
        store.append([code(1)])
    with pytest.raises(StorageError, match="cannot open the event store"):
        SqliteEventStore(path)
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    reopened = SqliteEventStore(path)
    assert [e.seq for e in reopened.read_task("task-1")] == [1]
    reopened.close()
