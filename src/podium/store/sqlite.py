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
import contextlib
import gc
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event

from podium.events import Event, decode_event
from podium.events.codec import encode_event
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
_INSERT = ("INSERT INTO podium_events (position, event_id, task_id, seq, type, timestamp, body)"
           " VALUES (?, ?, ?, ?, ?, ?, ?)")


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
    busy = f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}"
    event.listen(engine, "connect", lambda connection, _: connection.execute(busy))
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

    def append(
        self, events: Sequence[Event], *, expected_version: int | None = None
    ) -> list[Event]:
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
        # One statement for the replay check, the task's version and the last position: a
        # single-event commit is only a handful of statements, so each round trip shows.
        replay, version, position = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM podium_events WHERE event_id = ?),"
            " (SELECT COALESCE(MAX(seq), 0) FROM podium_events WHERE task_id = ?),"
            " (SELECT COALESCE(MAX(position), 0) FROM podium_events)", (ids[0], task_id)
        ).fetchone()
        if replay:
            return self._already_stored(conn, ids)
        if expected_version is not None and expected_version != version:
            raise ConcurrencyConflict(task_id, expected_version, version)
        rows, stored = [], []
        for offset, unstamped in enumerate(events, start=1):
            stamped = unstamped.model_copy(
                update={"seq": version + offset, "position": position + offset}
            )
            body = encode_event(stamped)
            if len(body) > self.max_event_bytes:
                raise EventTooLarge(
                    f"{stamped.type} event for task {task_id} is {len(body):,} bytes serialized; "
                    f"the limit is {self.max_event_bytes:,} bytes (store large artifacts in the "
                    "workspace and reference them)"
                )
            rows.append((stamped.position, ids[offset - 1], task_id, stamped.seq, stamped.type,
                         _iso(stamped.timestamp), body))
            stored.append(stamped)
        if len(rows) == 1:
            conn.execute(_INSERT, rows[0])
        else:
            conn.executemany(_INSERT, rows)
        return stored

    def _already_stored(self, conn: sqlite3.Connection, ids: list[bytes]) -> list[Event]:
        """The stored events of a replayed batch (its first event id is stored already)."""
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
        sql, params = self._task_query(task_id, after_seq, until)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        return self._decode(sql, params)

    def iter_task(self, task_id: str, *, after_seq: int = 0, until: datetime | None = None,
                  chunk: int = 1000) -> Iterator[Event]:
        """The events ``read_task`` returns, streamed: rows are read ``chunk`` at a time and each
        is decoded (fully validated) only when the consumer asks for it.

        For long logs, ``project_in_order(store.iter_task(task_id))`` holds one chunk of rows
        and one event at a time instead of the whole log. Each chunk is its own short read, so
        no read transaction stays open between chunks; an event appended while iterating is
        included if its seq comes after the last chunk read before it was committed.
        """
        if chunk <= 0:
            raise ValueError("chunk must be positive")
        last = max(after_seq, 0)
        while True:
            sql, params = self._task_query(task_id, last, until, columns="seq, type, body")
            params.append(chunk)
            try:
                rows = self._conn().execute(sql + " LIMIT ?", params).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"reading the event store at {self.path} failed: {exc}") from exc
            for _, type_name, body in rows:
                yield decode_event(type_name, body)
            if len(rows) < chunk:
                return
            last = rows[-1][0]  # the stored seq column: each chunk starts after the one before

    @staticmethod
    def _task_query(task_id: str, after_seq: int, until: datetime | None,
                    columns: str = "type, body") -> tuple[str, list[object]]:
        sql = f"SELECT {columns} FROM podium_events WHERE task_id = ? AND seq > ?"
        params: list[object] = [task_id, max(after_seq, 0)]
        if until is not None:
            sql += " AND timestamp <= ?"
            params.append(_iso(until))
        return sql + " ORDER BY seq", params

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

    def last_position(self) -> int:
        """The global position of the newest event, 0 for an empty store."""
        return self._conn().execute("SELECT COALESCE(MAX(position), 0) FROM podium_events"
                                    ).fetchone()[0]

    def check_reachable(self) -> None:
        """StorageError unless the database file can be opened afresh and read, as a new
        process would: open connections keep working on a file that was deleted or moved
        away, and whatever they write then is lost with it."""
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                   timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                conn.execute("SELECT COALESCE(MAX(position), 0) FROM podium_events").fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read the event store at {self.path}: {exc}") from exc

    def task_ids(self) -> list[str]:
        """Every task with at least one event, oldest first."""
        rows = self._conn().execute(
            "SELECT task_id FROM podium_events WHERE seq = 1 ORDER BY position"
        ).fetchall()
        return [r[0] for r in rows]

    def task_summaries(self, *, tenant: str | None = None, status: str | None = None,
                       before_position: int | None = None, limit: int = 50,
                       prompt_chars: int = 200) -> list[TaskSummary]:
        """Tasks newest first, each with its status as the projection derives it: the type of
        a terminal last event, else "created" while TASK_CREATED is the only event, else
        "running" (every later event is written by the running workflow).

        Filters: ``tenant`` (TASK_CREATED's data.tenant, "default" when absent), ``status``,
        and ``before_position`` (the position of the last task of the previous page).
        """
        sql = """
            SELECT * FROM (
                SELECT c.task_id, c.position, c.timestamp,
                       COALESCE(json_extract(c.body, '$.data.tenant'), 'default') AS tenant,
                       COALESCE(json_extract(c.body, '$.data.priority'), 20) AS priority,
                       substr(json_extract(c.body, '$.data.prompt'), 1, ?) AS prompt,
                       CASE last.type WHEN 'TASK_COMPLETE' THEN 'completed'
                                      WHEN 'TASK_FAILED' THEN 'failed'
                                      WHEN 'TASK_CANCELLED' THEN 'cancelled'
                                      ELSE CASE last.seq WHEN 1 THEN 'created' ELSE 'running' END
                       END AS status,
                       last.seq AS version
                FROM podium_events AS c
                JOIN podium_events AS last ON last.task_id = c.task_id AND last.seq = (
                    SELECT MAX(seq) FROM podium_events WHERE task_id = c.task_id)
                WHERE c.seq = 1 AND c.position < ?
            )
            WHERE (? IS NULL OR tenant = ?) AND (? IS NULL OR status = ?)
            ORDER BY position DESC LIMIT ?
        """
        before = before_position if before_position is not None else 2**62
        params = (prompt_chars, before, tenant, tenant, status, status, max(limit, 0))
        try:
            rows = self._conn().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"listing tasks in {self.path} failed: {exc}") from exc
        return [TaskSummary(*row) for row in rows]

    def get_event(self, event_id: uuid.UUID) -> Event | None:
        row = self._conn().execute(
            "SELECT type, body FROM podium_events WHERE event_id = ?", (event_id.bytes,)
        ).fetchone()
        return decode_event(row[0], row[1]) if row else None

    def _decode(self, sql: str, params: list[object]) -> list[Event]:
        # Rows are decoded as the cursor yields them, so the whole result's JSON is never held
        # next to the events built from it. The cursor is closed however decoding ends: a
        # half-read statement would keep this thread's connection on an old snapshot.
        try:
            cursor = self._conn().execute(sql, params)
            try:
                with _gc_paused():
                    return [decode_event(t, b) for t, b in cursor]
            finally:
                cursor.close()
        except sqlite3.Error as exc:
            raise StorageError(f"reading the event store at {self.path} failed: {exc}") from exc

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
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), POLL_SECONDS)
        finally:
            with self._listeners_lock:
                self._listeners.discard(listener)

    def _wake_subscribers(self) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for loop, wake in listeners:
            if not loop.is_closed():
                loop.call_soon_threadsafe(wake.set)


@dataclass(frozen=True)
class TaskSummary:
    """One row of a task listing: what TASK_CREATED said, and the task's status now."""

    task_id: str
    position: int  # of its TASK_CREATED: the listing's order and page cursor
    created_at: str
    tenant: str
    priority: int
    prompt: str  # the first characters only
    status: str
    version: int  # the task's last seq


def _iso(moment: datetime) -> str:
    # Fixed width with microseconds so text order is time order.
    moment = moment.astimezone(UTC)
    if moment.year >= 1000:  # isoformat is faster than strftime and gives the same text here
        return moment.isoformat(timespec="microseconds")[:26] + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Decoding builds several container objects per event (model, its dict, payload, clock), all
# kept alive in the result. Each batch of new objects makes CPython's cycle collector rescan the
# growing heap, which cost ~3x the decoding itself on a 100k-event read. Events hold no reference
# cycles, so collection is paused while a result is built (process-wide: counted across threads,
# and collection is re-enabled only if it was enabled when the first reader paused it).
_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_resume = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    global _gc_pausers, _gc_resume
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_resume = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_resume:
                gc.enable()


__all__ = ["SqliteEventStore", "StoreError", "prepare_database"]
