"""Starting and stopping the durable-execution engine (DBOS) for this process."""

from __future__ import annotations

import logging
import math

from dbos import DBOS, DBOSConfig
from dbos import error as dbos_error

from podium import __version__
from podium.store import prepare_database
from podium.workflows.runtime import Runtime, install_runtime
from podium.workflows.workers import Workers

# Registers the workflow and its steps with DBOS; must happen before launch.
from podium.workflows import coding  # noqa: F401  isort: skip


class _ExpectedCancellation(logging.Filter):
    """Drops DBOS's ERROR traceback for a workflow cancelled while it ran: in Podium that is
    a normal outcome, which the task's log records as TASK_CANCELLED with its reason."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, (dbos_error.DBOSAwaitedWorkflowCancelledError,
                                      dbos_error.DBOSWorkflowCancelledError))


_DBOS_LOG = logging.getLogger("dbos")


def launch_engine(runtime: Runtime) -> Workers:
    """Install the runtime, then launch DBOS on the store's SQLite file; returns this process's
    worker registration, for shutdown_engine.

    The file is put in WAL mode and migrated first, so DBOS opens a database that already has
    the journal mode the event store needs. The process runs under an executor id of its own;
    once launched, it takes over the interrupted workflows of processes that stopped, and they
    continue from their last completed step (see workers.py).
    """
    install_runtime(runtime)
    prepare_database(runtime.store.path)
    # DBOS's recovery entry point, the one its admin endpoint /dbos-workflow-recovery calls.
    workers = Workers(runtime.store.path, recover=DBOS._recover_pending_workflows)
    runtime.worker = workers.worker_id
    workers.register()
    config: DBOSConfig = {
        "name": "podium",
        "system_database_url": f"sqlite:///{runtime.store.path}",
        # A fixed version: recovery only picks up workflows of the same application version,
        # and DBOS's default (a hash of the source) would change with every edit.
        "application_version": __version__,
        "executor_id": workers.worker_id,
        "log_level": "WARNING",
    }
    DBOS(config=config)
    if not any(isinstance(f, _ExpectedCancellation) for f in _DBOS_LOG.filters):
        _DBOS_LOG.addFilter(_ExpectedCancellation())
    DBOS.launch()
    workers.start()
    return workers


def shutdown_engine(workers: Workers, grace_s: float = 0) -> None:
    """Stop DBOS: no more queued workflows start; running ones get up to ``grace_s`` seconds to
    finish. One still running then stays PENDING, and the next process to start (or a live
    one) takes it over."""
    workers.retire()
    DBOS.destroy(destroy_registry=False, workflow_completion_timeout_sec=math.ceil(grace_s))
    workers.stop()
