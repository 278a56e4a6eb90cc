"""The provider ledger in Podium's SQLite home: requests sent per deployment per day, and
money spent per task and per day, so quotas and budgets survive a restart and are shared by
every process using the same home.

Each method is one short transaction on its own connection (SQLite serialises writers); the
router calls them from a worker thread so its event loop never waits on the file.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from podium.store import prepare_database

BUSY_TIMEOUT_S = 30.0


def utc_day(now: datetime | None = None) -> str:
    """Today's date in UTC, the unit of daily quotas and budgets."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%d")


class Ledger:
    """Counters in the tables of migration 0003. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        prepare_database(self.path)  # creates or migrates the file, our tables included
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S,
                                     check_same_thread=False)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def take_request(self, deployment: str, day: str, limit: int) -> bool:
        """Count one request for ``deployment`` on ``day`` if fewer than ``limit`` were;
        False (nothing counted) when the quota is used up. Atomic across processes."""
        if limit <= 0:
            return False
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO podium_provider_requests (deployment, day, count) "
                "VALUES (?, ?, 1) ON CONFLICT (deployment, day) DO UPDATE "
                "SET count = count + 1 WHERE count < ?",
                (deployment, day, limit),
            )
            return cursor.rowcount == 1

    def give_back_request(self, deployment: str, day: str) -> None:
        """Uncount a request that was counted but never sent."""
        with self._lock:
            self._conn.execute(
                "UPDATE podium_provider_requests SET count = count - 1 "
                "WHERE deployment = ? AND day = ? AND count > 0", (deployment, day))

    def requests(self, deployment: str, day: str) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT count FROM podium_provider_requests WHERE deployment = ? AND day = ?",
                (deployment, day)).fetchone()
        return row[0] if row else 0

    def spent(self, scope: str, key: str) -> float:
        with self._lock:
            row = self._conn.execute(
                "SELECT cost_usd FROM podium_provider_spend WHERE scope = ? AND key = ?",
                (scope, key)).fetchone()
        return row[0] if row else 0.0

    def add_spend(self, entries: list[tuple[str, str]], cost_usd: float) -> None:
        """Add ``cost_usd`` to each ``(scope, key)`` in one transaction."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for scope, key in entries:
                    self._conn.execute(
                        "INSERT INTO podium_provider_spend (scope, key, cost_usd) VALUES (?, ?, ?)"
                        " ON CONFLICT (scope, key) DO UPDATE SET cost_usd = cost_usd + ?",
                        (scope, key, cost_usd, cost_usd))
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
