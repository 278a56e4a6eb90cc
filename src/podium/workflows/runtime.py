"""What the durable workflow's steps need at run time, and how they write events.

DBOS workflows are plain functions registered at import time, so the objects they use (the
store, the model, the limits) are handed over here once per process, before DBOS launches.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbos import DBOS

from podium.events import Envelope, Event
from podium.events.types import LlmCall, LlmCallData
from podium.providers import Completion, Provider
from podium.sandbox import SandboxLimits
from podium.store import SqliteEventStore

# Event ids inside a workflow are derived from (task, step, index), so a step that DBOS
# re-executes after a crash re-appends the same ids and the store keeps the first copy.
_EVENT_NAMESPACE = uuid.UUID("6f1d7c1e-4c52-4a55-9f34-3f3d2b1f0a11")


@dataclass
class Runtime:
    store: SqliteEventStore
    provider: Provider
    workspaces: Path
    limits: SandboxLimits
    worker: str = "local"  # this process's DBOS executor id, set at launch


_runtime: Runtime | None = None


def install_runtime(runtime: Runtime) -> None:
    global _runtime
    _runtime = runtime


def current_runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("the Podium runtime is not installed; call install_runtime first")
    return _runtime


def derived_event_id(key: str) -> uuid.UUID:
    """The same id for the same key, in any process: re-appending it is a no-op."""
    return uuid.uuid5(_EVENT_NAMESPACE, key)


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()[:16]


class StepLog:
    """Appends a step's events with ids that are stable across re-executions of the step."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        self.store = current_runtime().store
        self._key = f"{DBOS.workflow_id or task_id}:{DBOS.step_id}"
        self._count = 0

    def emit(self, *events: Envelope) -> list[Event]:
        stamped = []
        for event in events:
            self._count += 1
            event_id = derived_event_id(f"{self._key}:{self._count}")
            stamped.append(event.model_copy(update={"event_id": event_id}))
        return self.store.append(stamped)

    def llm_call(self, completion: Completion, module: str | None = None, **extra: Any) -> LlmCall:
        return LlmCall(task_id=self.task_id, actor=f"model:{completion.provider}", data=LlmCallData(
            purpose=extra.pop("purpose", "general"), provider=completion.provider,
            model=completion.model, tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out, latency_s=completion.latency_s,
            finish_reason=completion.finish_reason, module=module, extra=extra,
            deployment=completion.deployment, attempt=completion.attempt,
            fallback=completion.fallback, cost_usd=completion.cost_usd,
            cost_estimated=completion.usage_estimated, ttft_s=completion.ttft_s,
            route_reason=completion.route_reason,
        ))
