"""Application services: what every interface (CLI, REST, WebSocket, MCP) calls.

Interfaces stay thin: they parse input, call one of these methods and render the result.
Methods that take a ``tenant`` see only that tenant's tasks (another tenant's task is "not
found"); ``tenant=None`` sees every task, as the local CLI does.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from dbos import DBOS
from dbos import error as dbos_error

from podium.config import Settings
from podium.events import TERMINAL_TYPES, Event, TaskState, state_at, validate_task_id
from podium.events.types import TaskCreated, TaskCreatedData
from podium.providers import Provider, ProvidersConfig, Router, provider_for_run
from podium.sandbox import SandboxLimits, Workspace
from podium.services.queue import Priority, QueueStatus, TaskQueue
from podium.services.state_cache import StateCache
from podium.store import MAX_INTEGER, SqliteEventStore, TaskSummary
from podium.workflows import Runtime, cancellation, launch_engine, shutdown_engine

MAX_PROMPT_CHARS = 100_000
DEFAULT_TENANT = "default"
TASK_STATUSES = ("created", "running", "completed", "failed", "cancelled")
FINISHED_STATUSES = ("completed", "failed", "cancelled")


class TaskNotFound(LookupError):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"no task with id {task_id!r}")
        self.task_id = task_id


@dataclass(frozen=True)
class CancelOutcome:
    """What a cancel request did. ``outcome`` is "cancelled" (the log ends with
    TASK_CANCELLED), "cancelling" (the task stops when its running step ends) or
    "already_finished" (nothing to do; ``status`` says how it ended)."""

    task_id: str
    outcome: Literal["cancelled", "cancelling", "already_finished"]
    status: str
    message: str


@dataclass(frozen=True)
class TaskPage:
    tasks: list[TaskSummary]
    next_before: int | None  # pass as ``before`` for the next page; None on the last page


class InvalidInput(ValueError):
    """Input that cannot be used; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def parse_position(field: str, text: str) -> int:
    """A seq or position written as text; InvalidInput naming ``field`` unless it is a
    non-negative whole number the store can hold."""
    if not text.strip().isdigit() or int(text) > MAX_INTEGER:
        raise InvalidInput(field, f"{field} must be a whole number from 0 to {MAX_INTEGER}, "
                                  f"got {text[:40]!r}")
    return int(text)


def parse_point(text: str) -> tuple[int | None, datetime | None]:
    """``"12"`` is seq 12; ``"2024-05-01T10:00:00Z"`` is a moment. Anything else is an error."""
    if text.strip().isdigit():
        return parse_position("at", text), None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("at", f"{text!r} is neither a seq number nor an ISO 8601 time"
                           ) from None
    if moment.tzinfo is None:
        raise InvalidInput("at", f"{text!r} has no time zone; add Z or +00:00")
    return None, moment


def build_provider(settings: Settings) -> Provider:
    """The provider a run uses: the router over the configured deployments, or the one
    provider ``settings.provider`` picks (see providers.factory.provider_for_run)."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    config = ProvidersConfig(**{name: getattr(settings, name)
                                for name in ProvidersConfig.model_fields})
    return provider_for_run(config, pick=settings.provider, model=settings.model,
                            database=settings.database, script=settings.script,
                            openai_base_url=settings.openai_base_url, openai_api_key=key)


class TaskReader:
    """Read-only questions about tasks: needs the store, not the engine or a model."""

    def __init__(self, settings: Settings, store: SqliteEventStore | None = None) -> None:
        self.settings = settings
        self.store = store or SqliteEventStore(settings.database,
                                               max_event_bytes=settings.max_event_bytes)
        self._states = StateCache(self.store)

    def close(self) -> None:
        self.store.close()

    def workspace(self, task_id: str) -> Path:
        return self.settings.workspaces.resolve() / task_id

    def events(self, task_id: str, *, after_seq: int = 0, limit: int | None = None,
               tenant: str | None = None) -> list[Event]:
        """The task's events with seq > ``after_seq``, by seq, at most ``limit`` of them."""
        self.require(task_id, tenant)
        return self.store.read_task(task_id, after_seq=after_seq, limit=limit)

    def state(self, task_id: str, *, seq: int | None = None, at: datetime | None = None,
              tenant: str | None = None) -> TaskState:
        """The task's state now, or as it was at ``seq`` or ``at``. The current state is
        shared with other readers: read it, never change it."""
        if seq is not None or at is not None:
            return state_at(self.events(task_id, tenant=tenant), seq=seq, at=at)
        current = self._states.current(task_id)
        if current is None or tenant not in (None, current[0]):
            raise TaskNotFound(task_id)
        return current[1]

    def list_tasks(self, *, tenant: str | None = None, status: str | None = None,
                   limit: int = 50, before: int | None = None) -> TaskPage:
        """Tasks newest first, ``limit`` a page; ``before`` is the previous page's
        ``next_before``. ValueError names an unknown status."""
        if status is not None and status not in TASK_STATUSES:
            raise InvalidInput("status", f"status {status!r} is not one of "
                               f"{', '.join(TASK_STATUSES)}")
        rows = self.store.task_summaries(tenant=tenant, status=status, before_position=before,
                                         limit=limit + 1)
        more = len(rows) > limit
        return TaskPage(tasks=rows[:limit], next_before=rows[limit - 1].position if more else None)

    def files(self, task_id: str, *, tenant: str | None = None) -> list[str]:
        """Relative paths of the files in the task's workspace (none before it starts)."""
        self.require(task_id, tenant)
        root = self.workspace(task_id)
        return Workspace(root).files() if root.is_dir() else []

    def read_file(self, task_id: str, path: str, *, tenant: str | None = None) -> str:
        """A workspace file's text. ValueError for a path outside the workspace or a file that
        is not UTF-8; FileNotFoundError for a missing one."""
        self.require(task_id, tenant)
        target = Workspace(self.workspace(task_id))
        try:
            return target.read(path)
        except (IsADirectoryError, NotADirectoryError):
            raise FileNotFoundError(f"no file {path!r} in task {task_id}'s workspace") from None
        except UnicodeDecodeError:
            raise InvalidInput("path", f"{path!r} is not a UTF-8 text file") from None
        except ValueError:
            raise InvalidInput("path", f"{path!r} is not a path inside the task's workspace "
                               "(relative, without '..')") from None

    def is_finished(self, task_id: str) -> bool:
        last = self.store.read_task(task_id, after_seq=self.store.version(task_id) - 1)
        return bool(last) and last[-1].type in TERMINAL_TYPES

    async def follow(self, task_id: str, *, after_position: int = 0,
                     tenant: str | None = None) -> AsyncIterator[Event]:
        """The task's events from ``after_position``, live, ending with its terminal event."""
        self.require(task_id, tenant)
        async for event in self.store.subscribe(after_position=after_position, task_id=task_id):
            yield event
            if event.type in TERMINAL_TYPES:
                return

    def require(self, task_id: str, tenant: str | None = None) -> None:
        """Raise TaskNotFound unless the task exists (and belongs to ``tenant`` when given)."""
        if tenant is None:
            if self.store.version(task_id) == 0:
                raise TaskNotFound(task_id)
            return
        created = self.store.read_task(task_id, limit=1)
        if not created or getattr(created[0].data, "tenant", DEFAULT_TENANT) != tenant:
            raise TaskNotFound(task_id)



class TaskService(TaskReader):
    """Submit, run and resume coding tasks: launches the durable engine for this process.

    Launching recovers the interrupted workflows of this home folder, so only commands that
    mean to run tasks should build one; read-only commands use TaskReader.
    """

    def __init__(self, settings: Settings, provider: Provider | None = None,
                 store: SqliteEventStore | None = None) -> None:
        super().__init__(settings, store)
        self._owns_provider = provider is None
        self.provider = provider or build_provider(settings)
        limits = SandboxLimits(wall_seconds=settings.test_timeout_s,
                               memory_bytes=settings.test_memory_mb * 1024 * 1024)
        self.runtime = Runtime(store=self.store, provider=self.provider,
                               workspaces=settings.workspaces.resolve(), limits=limits)
        self.workers = launch_engine(self.runtime)
        self.queue = TaskQueue(settings)
        # Makes "is there room, then record and enqueue" one step for this process's callers.
        self._submit_lock = threading.Lock()

    def close(self, *, grace_s: float = 0) -> None:
        """Stop the engine: it starts no more queued tasks, lets running ones finish for up to
        ``grace_s`` seconds, then stops; a task still running resumes at the next launch."""
        shutdown_engine(self.workers, grace_s)
        close_provider = getattr(self.provider, "close", None)
        if self._owns_provider and callable(close_provider):
            close_provider()  # the router's connections and its event loop thread
        super().close()

    # --- commands -------------------------------------------------------------------------

    def submit(self, prompt: str, *, tests: str | None = None, task_id: str | None = None,
               max_rounds: int | None = None, priority: int | str = Priority.MEDIUM,
               tenant: str = DEFAULT_TENANT, timeout_s: float | None = None,
               budget_usd: float | None = None, provider: str | None = None,
               model: str | None = None) -> str:
        """Record the task and queue its workflow; returns the task id.

        The queue starts higher priorities first and at most ``queue_concurrency`` tasks at
        once; when ``queue_max_waiting`` tasks already wait, QueueFull is raised and nothing is
        recorded. ``timeout_s`` (default ``task_timeout_s``) counts from the task's start; past
        it the task is cancelled. ``provider`` and ``model`` must name what is configured.
        Bad input raises InvalidInput (a ValueError) naming the field. Submitting again with
        the id of an existing task of the same tenant starts nothing new.
        """
        if not prompt.strip():
            raise InvalidInput("prompt", "the task prompt is empty")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise InvalidInput("prompt", f"the task prompt is {len(prompt):,} characters; at "
                                         f"most {MAX_PROMPT_CHARS:,}")
        _check_hints(self.provider, provider, model)
        try:
            rank = Priority.parse(priority)
        except ValueError as exc:
            raise InvalidInput("priority", str(exc)) from None
        try:
            task_id = validate_task_id(task_id) if task_id else f"task-{uuid.uuid4().hex[:12]}"
        except ValueError as exc:
            raise InvalidInput("task_id", str(exc)) from None
        timeout_s = timeout_s or self.settings.task_timeout_s
        with self._submit_lock:
            if self.store.version(task_id) == 0:
                self.queue.check_room()
                self.store.append([TaskCreated(task_id=task_id, actor="user",
                                               data=TaskCreatedData(
                    prompt=prompt, tests=tests, provider=provider or self.provider.name,
                    model=model or self.provider.model, provider_hint=provider, model_hint=model,
                    max_rounds=max_rounds or self.settings.max_rounds,
                    workspace=str(self.workspace(task_id)), tenant=tenant, priority=rank,
                    timeout_s=timeout_s, budget_usd=budget_usd,
                ))], expected_version=0)
                self.queue.enqueue(task_id, rank, timeout_s)
                return task_id
            try:
                self.require(task_id, tenant)
            except TaskNotFound:
                raise InvalidInput("task_id", f"task id {task_id!r} is already taken") from None
            self._start(task_id)
        return task_id

    def cancel(self, task_id: str, *, reason: str = cancellation.UNSPECIFIED_REASON,
               tenant: str | None = None) -> CancelOutcome:
        """Cancel the task. Idempotent: cancelling a finished task changes nothing and says so.

        A waiting task is cancelled at once; a running one stops when its running step ends
        (the outcome is then "cancelling"), and its log ends with TASK_CANCELLED naming
        ``reason``.
        """
        before = self.state(task_id, tenant=tenant).status
        if before not in FINISHED_STATUSES:
            cancellation.request(self.store, task_id, reason)
        after = self.state(task_id).status
        if before in FINISHED_STATUSES or after in ("completed", "failed"):
            return CancelOutcome(task_id, "already_finished", after,
                                 f"task {task_id} had already {_ended(after)}; nothing to cancel")
        if after == "cancelled":
            return CancelOutcome(task_id, "cancelled", after, f"task {task_id} is cancelled")
        return CancelOutcome(task_id, "cancelling", after, f"task {task_id} is being "
                             "cancelled: it stops when its running step ends")

    def wait(self, task_id: str) -> str:
        """Block until the task's log ends; returns its status: completed, failed or
        cancelled."""
        self.require(task_id)
        try:
            DBOS.retrieve_workflow(task_id).get_result()
        except dbos_error.DBOSAwaitedWorkflowCancelledError:
            # DBOS reports the cancellation at once; the log ends when the running step does.
            while not self.is_finished(task_id):
                time.sleep(0.05)
        return self.state(task_id).status

    def resume_interrupted(self) -> list[str]:
        """Tasks that had not ended when their process stopped.

        Their workflows were resumed or left queued when the engine launched; a task recorded
        just before a crash, whose workflow was never queued, is queued here; a task cancelled
        while no process ran it gets its TASK_CANCELLED now (and is not returned).
        """
        unfinished = [t for t in self.store.task_ids() if not self.is_finished(t)]
        for task_id in unfinished:
            self._start(task_id)
        return [t for t in unfinished if not self.is_finished(t)]

    def queue_status(self) -> QueueStatus:
        return self.queue.status()

    def _start(self, task_id: str) -> None:
        """Queue the task's workflow unless DBOS has it; finish the log of one cancelled while
        nothing ran it."""
        workflow = DBOS.get_workflow_status(task_id)
        if workflow is None:
            created = self.store.read_task(task_id, limit=1)[0].data
            self.queue.enqueue(task_id, getattr(created, "priority", Priority.MEDIUM),
                               getattr(created, "timeout_s", None) or self.settings.task_timeout_s)
        elif workflow.status == "CANCELLED" and not self.is_finished(task_id):
            cancellation.record(self.store, task_id, cancellation.reason_for(task_id))


def _check_hints(served: Provider, provider: str | None, model: str | None) -> None:
    """InvalidInput naming the hint that nothing this process runs can satisfy. A router
    offers each deployment (by provider or deployment name, and model); a single provider
    itself."""
    offered = ([(d.name, d.provider, d.model) for d in served.deployments.values()]
               if isinstance(served, Router) else [(served.name, served.name, served.model)])
    by_provider = [o for o in offered if provider in (None, o[0], o[1])]
    if not by_provider:
        names = ", ".join(sorted({name for o in offered for name in o[:2]}))
        raise InvalidInput("provider", f"provider {provider!r} is not available; this server "
                                       f"runs {names}")
    if model is not None and model not in {o[2] for o in by_provider}:
        models = ", ".join(sorted({o[2] for o in by_provider}))
        raise InvalidInput("model", f"model {model!r} is not available"
                                    f"{f' from {provider}' if provider else ''}; this server "
                                    f"runs {models}")


def _ended(status: str) -> str:
    return {"completed": "completed", "failed": "failed"}.get(status, "been cancelled")
