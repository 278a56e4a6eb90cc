"""The provider interface: one request type, one result type, one error type.

Every provider turns a :class:`CompletionRequest` into a :class:`Completion` or raises
:class:`ProviderError`. Connectors (one per wire protocol) also stream, list models, embed and
report health. Connectors never retry; retries, breakers and fallbacks belong to the router
built on top of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from podium.providers.chunks import Chunk
from podium.providers.errors import ProviderError

__all__ = [
    "Completion", "CompletionRequest", "Connector", "Health", "Preference", "Provider",
    "ProviderError", "Style", "ToolCall", "ToolSpec",
]  # fmt: skip

Style = Literal["chat", "completion"]
Preference = Literal["quality", "cost", "latency", "context"]


_OBJECT_SCHEMA: dict[str, JsonValue] = {"type": "object"}


class ToolSpec(BaseModel):
    """A function the model may call: its name, what it does, and a JSON schema of its
    arguments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, JsonValue] = Field(default_factory=lambda: _OBJECT_SCHEMA.copy())


class ToolCall(BaseModel):
    """A call the model asked for: ``arguments`` is the JSON text it wrote, joined from its
    streamed fragments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = ""
    name: str
    arguments: str = ""


class CompletionRequest(BaseModel):
    """One completion call. Immutable; validated on construction.

    Guarantees: ``prompt`` is non-empty, ``max_tokens > 0`` and ``0 <= temperature <= 2``.
    ``prefill`` is the text the answer should begin with: completion-style providers append
    it to the prompt and return ``prefill + continuation``; chat providers ignore it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str = ""
    prompt: str = Field(min_length=1)
    prefill: str = ""
    purpose: str = "general"
    max_tokens: int = Field(default=512, gt=0)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    stop: tuple[str, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    # What the router should favour for this call; None lets the configured routing decide.
    prefer: Preference | None = None
    # What a task's hints restrict it to: a provider (or a router deployment's name) and a
    # model. A router sends only to deployments that match; a single provider is checked
    # against them when the task is submitted.
    provider: str | None = None
    model: str | None = None
    # The caller's deadline for the whole call, waits and retries included.
    timeout_s: float | None = Field(default=None, gt=0)
    # Whose money the call spends: the task's budget applies when set.
    task_id: str | None = None
    budget_usd: float | None = Field(default=None, gt=0)


class Completion(BaseModel):
    """The result of one completion call. Immutable.

    ``tokens_in``/``tokens_out`` are the provider's own counts (prompt and generated
    tokens), or estimates when it reported none (``usage_estimated``); ``latency_s`` is the
    wall time of the call as seen by the caller. The fields after ``finish_reason`` are filled
    by the router: which deployment answered, after how many attempts, whether a fallback
    was taken, the cost, the time to the first token and why that deployment was chosen.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    provider: str
    model: str
    tokens_in: int = Field(ge=0)
    tokens_out: int = Field(ge=0)
    latency_s: float = Field(ge=0.0)
    finish_reason: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage_estimated: bool = False
    deployment: str = ""
    attempt: int = Field(default=1, ge=1)
    fallback: bool = False
    cost_usd: float = Field(default=0.0, ge=0.0)
    ttft_s: float | None = Field(default=None, ge=0.0)
    route_reason: str = ""


@runtime_checkable
class Provider(Protocol):
    """Anything that can complete a request. ``name`` is the provider kind, ``model`` the
    model it runs."""

    name: str
    model: str

    async def complete(self, request: CompletionRequest) -> Completion: ...


@dataclass(frozen=True)
class Health:
    """The result of a health check: reachable or not, why, and how long the check took."""

    ok: bool
    detail: str
    latency_s: float


@runtime_checkable
class Connector(Provider, Protocol):
    """One wire protocol: everything the router and ``podium doctor`` need from a provider.

    Guarantees every connector gives: ``stream`` yields normalized :class:`Chunk` values and
    raises :class:`ProviderError` (with its ``kind``) on any failure, including an error
    reported inside a stream; ``complete`` sends exactly one request; ``models`` is cached
    for a while; ``estimate_tokens`` never does I/O.
    """

    style: Style

    def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]: ...

    async def models(self) -> list[str]: ...

    async def context_length(self, model: str | None = None) -> int | None: ...

    async def embed(self, texts: list[str], model: str | None = None) -> list[list[float]]: ...

    async def health(self) -> Health: ...

    def estimate_tokens(self, text: str) -> int: ...

    async def aclose(self) -> None: ...

