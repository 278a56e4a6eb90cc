"""Application services: what every interface (CLI, and later REST and MCP) calls.

Interfaces stay thin: they parse input, call one of these methods and render the result.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from dbos import DBOS, SetWorkflowID

from podium.config import Settings
from podium.events import TERMINAL_TYPES, Event, TaskState, project, state_at, validate_task_id
from podium.events.types import TaskCreated, TaskCreatedData
from podium.providers import Provider, create_provider
from podium.sandbox import SandboxLimits
from podium.store import SqliteEventStore
from podium.workflows import Runtime, launch_engine, shutdown_engine
from podium.workflows.coding import coding_workflow

MAX_PROMPT_CHARS = 100_000


class TaskNotFound(LookupError):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"no task with id {task_id!r}")
        self.task_id = task_id


def build_provider(settings: Settings) -> Provider:
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return create_provider(
        settings.provider,
        model_path=settings.model if settings.provider == "embedded" else None,
        base_url=settings.openai_base_url, api_key=key, model=settings.model,
        script=settings.script,
    )


class TaskReader:
    """Read-only questions about tasks: needs the store, not the engine or a model."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = SqliteEventStore(settings.database, max_event_bytes=settings.max_event_bytes)

    def close(self) -> None:
        self.store.close()

    def workspace(self, task_id: str) -> Path:
        return self.settings.workspaces.resolve() / task_id

    def events(self, task_id: str, *, after_seq: int = 0) -> list[Event]:
        self._require(task_id)
        return self.store.read_task(task_id, after_seq=after_seq)

    def state(self, task_id: str, *, seq: int | None = None,
              at: datetime | None = None) -> TaskState:
        events = self.events(task_id)
        return project(events) if seq is None and at is None else state_at(events, seq=seq, at=at)

    def is_finished(self, task_id: str) -> bool:
        last = self.store.read_task(task_id, after_seq=self.store.version(task_id) - 1)
        return bool(last) and last[-1].type in TERMINAL_TYPES

    async def follow(self, task_id: str, *, after_position: int = 0) -> AsyncIterator[Event]:
        """The task's events from ``after_position``, live, ending with its terminal event."""
        self._require(task_id)
        async for event in self.store.subscribe(after_position=after_position, task_id=task_id):
            yield event
            if event.type in TERMINAL_TYPES:
                return

    def _require(self, task_id: str) -> None:
        if self.store.version(task_id) == 0:
            raise TaskNotFound(task_id)


class TaskService(TaskReader):
    """Submit, run and resume coding tasks: launches the durable engine for this process.

    Launching recovers the interrupted workflows of this home folder, so only commands that
    mean to run tasks should build one; read-only commands use TaskReader.
    """

    def __init__(self, settings: Settings, provider: Provider | None = None) -> None:
        super().__init__(settings)
        self.provider = provider or build_provider(settings)
        limits = SandboxLimits(wall_seconds=settings.test_timeout_s,
                               memory_bytes=settings.test_memory_mb * 1024 * 1024)
        self.runtime = Runtime(store=self.store, provider=self.provider,
                               workspaces=settings.workspaces.resolve(), limits=limits)
        launch_engine(self.runtime)

    def close(self) -> None:
        shutdown_engine()
        super().close()

    # --- commands -------------------------------------------------------------------------

    def submit(self, prompt: str, *, tests: str | None = None, task_id: str | None = None,
               max_rounds: int | None = None) -> str:
        """Record the task and start its workflow; returns the task id.

        Submitting again with the id of an existing task starts nothing new: the task's
        workflow is already running, finished, or is recovered when the engine launches.
        """
        if not prompt.strip():
            raise ValueError("the task prompt is empty")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise ValueError(f"the task prompt is {len(prompt):,} characters; at most "
                             f"{MAX_PROMPT_CHARS:,}")
        task_id = validate_task_id(task_id) if task_id else f"task-{uuid.uuid4().hex[:12]}"
        if self.store.version(task_id) == 0:
            self.store.append([TaskCreated(task_id=task_id, actor="user", data=TaskCreatedData(
                prompt=prompt, tests=tests, provider=self.provider.name,
                model=self.provider.model, max_rounds=max_rounds or self.settings.max_rounds,
                workspace=str(self.workspace(task_id)),
            ))], expected_version=0)
        if DBOS.get_workflow_status(task_id) is None:
            with SetWorkflowID(task_id):
                DBOS.start_workflow(coding_workflow, task_id)
        return task_id

    def wait(self, task_id: str) -> str:
        """Block until the task's workflow ends; returns "completed" or "failed"."""
        self._require(task_id)
        return DBOS.retrieve_workflow(task_id).get_result()

    def resume_interrupted(self) -> list[str]:
        """Tasks that had not ended when their process stopped.

        Their workflows were re-queued when the engine launched; a task recorded just before
        a crash, whose workflow never started, is started here.
        """
        unfinished = [t for t in self.store.task_ids() if not self.is_finished(t)]
        for task_id in unfinished:
            if DBOS.get_workflow_status(task_id) is None:
                with SetWorkflowID(task_id):
                    DBOS.start_workflow(coding_workflow, task_id)
        return unfinished
