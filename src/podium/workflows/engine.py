"""Starting and stopping the durable-execution engine (DBOS) for this process."""

from __future__ import annotations

import math

from dbos import DBOS, DBOSConfig

from podium import __version__
from podium.store import prepare_database
from podium.workflows.runtime import Runtime, install_runtime

# Registers the workflow and its steps with DBOS; must happen before launch.
from podium.workflows import coding  # noqa: F401  isort: skip


def launch_engine(runtime: Runtime) -> None:
    """Install the runtime, then launch DBOS on the store's SQLite file.

    The file is put in WAL mode and migrated first, so DBOS opens a database that already has
    the journal mode the event store needs. Launching recovers this executor's interrupted
    workflows in the background: they continue from their last completed step.
    """
    install_runtime(runtime)
    prepare_database(runtime.store.path)
    config: DBOSConfig = {
        "name": "podium",
        "system_database_url": f"sqlite:///{runtime.store.path}",
        # A fixed version: recovery only picks up workflows of the same application version,
        # and DBOS's default (a hash of the source) would change with every edit.
        "application_version": __version__,
        "executor_id": runtime.worker,
        "log_level": "WARNING",
    }
    DBOS(config=config)
    DBOS.launch()


def shutdown_engine(grace_s: float = 0) -> None:
    """Stop DBOS: no more queued workflows start; running ones get up to ``grace_s`` seconds to
    finish. One still running then stays PENDING and resumes at the next launch."""
    DBOS.destroy(destroy_registry=False, workflow_completion_timeout_sec=math.ceil(grace_s))
