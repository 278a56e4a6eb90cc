"""Shared fixtures: a real SQLite event store in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.store import SqliteEventStore


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "podium.db"


@pytest.fixture
def store(store_path: Path) -> Iterator[SqliteEventStore]:
    s = SqliteEventStore(store_path)
    yield s
    s.close()
