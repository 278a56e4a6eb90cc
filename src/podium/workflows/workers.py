"""Which process runs which workflows, when several share one home folder.

DBOS tags each workflow with the executor id of the process running it, and at launch recovers
only the interrupted workflows of its own id. So every process gets an id of its own (two
processes sharing one, say `podium serve` and `podium run`, would each re-run the other's live
work), and registers it here with a heartbeat it keeps renewing.

A registered process is dead when its heartbeat is older than the lease, when it released its
registration at shutdown, or, on this host, at once when its process no longer runs. A live process
takes over a dead one's workflows: whoever deletes the dead row owns them, and hands them to
DBOS's own recovery, the call behind DBOS's /dbos-workflow-recovery admin endpoint. Recovered
workflows go back on a DBOS queue and continue from their last completed step.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import structlog

HEARTBEAT_S = 5.0
LEASE_S = 30.0  # six missed heartbeats: long enough that a busy process is not declared dead
HOST = socket.gethostname()
START_TIME_SLACK_S = 1.0  # process start times are known to about a clock tick

log = structlog.get_logger(__name__)


def is_running(pid: int, started_at: float) -> bool:
    """Whether the process that registered with this pid and start time still runs on this
    host. A zombie (exited, not yet reaped) has stopped; a process now holding the pid but
    started at another time is a different one (pids are reused, as after a restart)."""
    try:
        process = psutil.Process(pid)
        return (process.status() != psutil.STATUS_ZOMBIE
                and abs(process.create_time() - started_at) < START_TIME_SLACK_S)
    except psutil.NoSuchProcess:
        return False


class Workers:
    """This process's registration, its heartbeat, and the take-over of dead processes'
    workflows through ``recover`` (given the dead executor ids whose workflows to resume)."""

    def __init__(self, database: Path, recover: Callable[[list[str]], list[Any]], *,
                 heartbeat_s: float = HEARTBEAT_S, lease_s: float = LEASE_S) -> None:
        self.worker_id = f"{HOST}-{os.getpid()}-{secrets.token_hex(3)}"
        self._recover = recover
        self._heartbeat_s = heartbeat_s
        self._lease_s = lease_s
        self._conn = sqlite3.connect(database, isolation_level=None, timeout=30,
                                     check_same_thread=False)
        # A heartbeat lost to a power cut costs nothing: it only says the process was alive.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.Lock()  # one connection, used by the caller and the heartbeat
        self._stopping = threading.Event()
        self._retiring = threading.Event()  # shutting down: keep beating, take nothing over
        self._thread: threading.Thread | None = None

    def register(self) -> None:
        """Record this process as alive; do it before DBOS launches under ``worker_id``."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO podium_workers (worker_id, host, pid, started_at, heartbeat_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (self.worker_id, HOST, os.getpid(), psutil.Process().create_time(), time.time()))

    def start(self) -> list[str]:
        """Take over the dead processes' workflows now, then keep the heartbeat going (and keep
        taking over) in the background. Returns the worker ids taken over now."""
        taken = self.take_over()
        self._thread = threading.Thread(target=self._beat, name="podium-heartbeat", daemon=True)
        self._thread.start()
        return taken

    def take_over(self) -> list[str]:
        """Claim every dead worker and recover its workflows; returns the ids claimed."""
        taken = [worker for worker, beat in self._dead() if self._claim(worker, beat)]
        if taken and (resumed := self._recover(taken)):
            log.info("resuming the workflows of stopped workers", workers=taken,
                     workflows=len(resumed))
        return taken

    def retire(self) -> None:
        """Take over nothing more, while the heartbeat goes on: running workflows may still
        be finishing."""
        self._retiring.set()

    def stop(self) -> None:
        """Stop the heartbeat and release the registration: a workflow this process leaves
        unfinished is taken over by the next process to start, or by a live one."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._conn.execute("UPDATE podium_workers SET heartbeat_at = 0 WHERE worker_id = ?",
                               (self.worker_id,))
            self._conn.close()

    def _dead(self) -> list[tuple[str, float]]:
        """The dead workers, each with the heartbeat it was judged by."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT worker_id, host, pid, started_at, heartbeat_at FROM podium_workers "
                "WHERE worker_id != ?", (self.worker_id,)).fetchall()
        lease_start = time.time() - self._lease_s
        return [(worker, beat) for worker, host, pid, started_at, beat in rows
                if beat < lease_start or (host == HOST and not is_running(pid, started_at))]

    def _claim(self, worker: str, heartbeat_at: float) -> bool:
        """Delete the dead worker's row unless it beat since it was judged; only one
        claimant's delete finds the row."""
        with self._lock:
            return self._conn.execute(
                "DELETE FROM podium_workers WHERE worker_id = ? AND heartbeat_at = ?",
                (worker, heartbeat_at)).rowcount == 1

    def _beat(self) -> None:
        while not self._stopping.wait(self._heartbeat_s):
            try:
                self._renew()
                if not self._retiring.is_set():
                    self.take_over()
            except Exception as exc:  # noqa: BLE001  a missed beat must not end the thread
                log.warning("worker heartbeat failed; retrying", worker=self.worker_id,
                            error=str(exc))

    def _renew(self) -> None:
        with self._lock:
            renewed = self._conn.execute(
                "UPDATE podium_workers SET heartbeat_at = ? WHERE worker_id = ?",
                (time.time(), self.worker_id)).rowcount
        if not renewed:
            # Another process found this one's lease expired and took its workflows over.
            log.warning("this worker's lease had expired and its workflows were taken over; "
                        "registering again", worker=self.worker_id)
            self.register()
