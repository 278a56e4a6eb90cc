"""The event store on one SQLite file.

Locking: SQLite allows one writer. Every append runs in ``BEGIN IMMEDIATE`` (the write lock is
taken before reading the stream version), so seq and position are assigned by exactly one writer
at a time, across threads and processes; a threading lock keeps this process's own writers from
spinning on SQLite's busy handler. Readers never block (WAL). Each thread has its own connection.

The schema is created and upgraded by Alembic through SQLAlchemy; the append and read paths use
the sqlite3 driver directly, because SQLAlchemy's per-statement work cost more than SQLite's own
(see docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event

from podium.events import Event, decode_event
from podium.store.errors import (
    ConcurrencyConflict,
    EventTooLarge,
    InvalidAppend,
    StorageError,
    StoreError,
)

DEFAULT_MAX_EVENT_BYTES = 8 * 1024 * 1024
BUSY_TIMEOUT_MS = 30_000
# Subscribers are woken at once by appends in this process; appends by other processes are
# noticed by polling at this interval.
POLL_SECONDS = 0.25
_MIGRATIONS = Path(__file__).with_name("migrations")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def prepare_database(path: Path) -> None:
    """Create or upgrade the file: WAL mode first (it is stored in the file, so every later
    connection, DBOS's included, gets it), then the Alembic migrations."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = _connect(path)
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        conn.close()
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open the event store at {path}: {exc}") from exc
    if mode.lower() != "wal":
        raise StorageError(f"{path}: SQLite refused WAL mode (got {mode!r})")
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", lambda c, _: c.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}"))
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except Exception as exc:
        raise StorageError(f"cannot migrate the event store at {path}: {exc}") from exc
    finally:
        engine.dispose()


class SqliteEventStore:
    """Append-only, per-task ordered event log in one SQLite file. Thread-safe."""

    def __init__(self, path: Path | str, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES):
        if max_event_bytes <= 0:
            raise ValueError("max_event_bytes must be positive")
        self.path = Path(path)
        self.max_event_bytes = max_event_bytes
        prepare_database(self.path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._write_lock = threading.Lock()
        self._listeners: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._listeners_lock = threading.Lock()

    # --- connections ----------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = _connect(self.path)
            except sqlite3.Error as exc:
                raise StorageError(f"cannot open the event store at {self.path}: {exc}") from exc
            self._local.conn = conn
            self._connections.append(conn)
        return conn

    def close(self) -> None:
        for conn in self._connections:
            conn.close()
        self._connections.clear()
        self._local = threading.local()

    # --- writing --------------------------------------------------------------------------

    def append(self, events: Sequence[Event], *, expected_version: int | None = None) -> list[Event]:
        """Append events of one task atomically and return them with seq and position set.

        ``expected_version`` is the task's last seq the caller saw (0 for a new task); None
        appends whatever the version. Re-appending a batch whose event ids are all stored
        already returns the stored events and writes nothing, which is what makes a replayed
        workflow step safe. Either every event is stored or none is.
        """
        if not events:
            return []
        task_id = events[0].task_id
        if any(e.task_id != task_id for e in events):
            raise InvalidAppend("one append holds the events of one task only")
        ids = [e.event_id.bytes for e in events]
        if len(set(ids)) != len(ids):
            raise InvalidAppend("the same event_id appears twice in one append")
        conn = self._conn()
        with self._write_lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    stored = self._append_locked(conn, task_id, events, ids, expected_version)
                    conn.execute("COMMIT")
                except BaseException:
                    # SQLite has already rolled back on some errors (disk full, I/O).
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StorageError(
                    f"append of {len(events)} event(s) to task {task_id} failed and stored "
                    f"nothing: {exc}"
                ) from exc
        self._wake_subscribers()
        return stored

    def _append_locked(self, conn: sqlite3.Connection, task_id: str, events: Sequence[Event],
                       ids: list[bytes], expected_version: int | None) -> list[Event]:
        replayed = self._already_stored(conn, ids)
        if replayed is not None:
            return replayed
        version = conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM podium_events WHERE task_id = ?", (task_id,)
        ).fetchone()[0]
        if expected_version is not None and expected_version != version:
            raise ConcurrencyConflict(task_id, expected_version, version)
        position = conn.execute("SELECT COALESCE(MAX(position), 0) FROM podium_events").fetchone()[0]
        rows, stored = [], []
        for offset, event in enumerate(events, start=1):
            event = event.model_copy(update={"seq": version + offset, "position": position + offset})
            body = event.model_dump_json()
            if len(body) > self.max_event_bytes:
                raise EventTooLarge(
                    f"{event.type} event for task {task_id} is {len(body):,} bytes serialized; "
                    f"the limit is {self.max_event_bytes:,} bytes (store large artifacts in the "
                    "workspace and reference them)"
                )
            rows.append((event.position, ids[offset - 1], task_id, event.seq, event.type,
                         _iso(event.timestamp), body))
            stored.append(event)
        conn.executemany(
            "INSERT INTO podium_events (position, event_id, task_id, seq, type, timestamp, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return stored

    def _already_stored(self, conn: sqlite3.Connection, ids: list[bytes]) -> list[Event] | None:
        found = conn.execute(
            "SELECT type, body FROM podium_events WHERE event_id = ?", (ids[0],)
        ).fetchone()
        if found is None:
            return None
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            f"SELECT event_id, type, body FROM podium_events WHERE event_id IN ({marks})", ids
        ).fetchall()
        if len(rows) != len(ids):
            raise InvalidAppend(
                f"{len(rows)} of {len(ids)} events in this append are stored already; a batch is "
                "either replayed whole or new whole"
            )
        by_id = {row[0]: decode_event(row[1], row[2]) for row in rows}
        return [by_id[i] for i in ids]

    # --- reading --------------------------------------------------------------------------

    def version(self, task_id: str) -> int:
        """The task's last seq, 0 when it has no events."""
        return self._conn().execute(
            "SELECT COALESCE(MAX(seq), 0) FROM podium_events WHERE task_id = ?", (task_id,)
        ).fetchone()[0]

    def read_task(self, task_id: str, *, after_seq: int = 0, until: datetime | None = None,
                  limit: int | None = None) -> list[Event]:
        """The task's events with seq > ``after_seq`` (and timestamp <= ``until``), by seq."""
        sql = "SELECT type, body FROM podium_events WHERE task_id = ? AND seq > ?"
        params: list[object] = [task_id, max(after_seq, 0)]
        if until is not None:
            sql += " AND timestamp <= ?"
            params.append(_iso(until))
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        return self._decode(sql, params)

    def read_all(self, *, after_position: int = 0, limit: int | None = None,
                 task_id: str | None = None) -> list[Event]:
        """Events of every task (or one) with position > ``after_position``, by position."""
        sql = "SELECT type, body FROM podium_events WHERE position > ?"
        params: list[object] = [max(after_position, 0)]
        if task_id is not None:
            sql += " AND task_id = ?"
            params.append(task_id)
        sql += " ORDER BY position"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        return self._decode(sql, params)

    def task_ids(self) -> list[str]:
        """Every task with at least one event, oldest first."""
        rows = self._conn().execute(
            "SELECT task_id FROM podium_events WHERE seq = 1 ORDER BY position"
        ).fetchall()
        return [r[0] for r in rows]

    def get_event(self, event_id: uuid.UUID) -> Event | None:
        row = self._conn().execute(
            "SELECT type, body FROM podium_events WHERE event_id = ?", (event_id.bytes,)
        ).fetchone()
        return decode_event(row[0], row[1]) if row else None

    def _decode(self, sql: str, params: list[object]) -> list[Event]:
        try:
            rows = self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"reading the event store at {self.path} failed: {exc}") from exc
        return [decode_event(t, b) for t, b in rows]

    # --- live subscriptions ---------------------------------------------------------------

    async def subscribe(self, *, after_position: int = 0, task_id: str | None = None,
                        batch: int = 500) -> AsyncIterator[Event]:
        """Stored events after ``after_position``, then new ones as they commit, forever.

        Positions are assigned by the single writer in commit order, so reading "after the
        last position seen" can neither skip nor repeat an event across the switch from
        replay to live.
        """
        wake = asyncio.Event()
        listener = (asyncio.get_running_loop(), wake)
        with self._listeners_lock:
            self._listeners.add(listener)
        try:
            position = after_position
            while True:
                wake.clear()
                page = await asyncio.to_thread(
                    self.read_all, after_position=position, limit=batch, task_id=task_id
                )
                for stored in page:
                    position = stored.position
                    yield stored
                if len(page) < batch:
                    try:
                        await asyncio.wait_for(wake.wait(), POLL_SECONDS)
                    except TimeoutError:
                        pass
        finally:
            with self._listeners_lock:
                self._listeners.discard(listener)

    def _wake_subscribers(self) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for loop, wake in listeners:
            if not loop.is_closed():
                loop.call_soon_threadsafe(wake.set)


def _iso(moment: datetime) -> str:
    # Fixed width with microseconds so text order is time order.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


__all__ = ["SqliteEventStore", "StoreError", "prepare_database"]
