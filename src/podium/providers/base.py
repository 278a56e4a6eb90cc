"""The provider interface: one request type, one result type, one error type.

Every provider turns a :class:`CompletionRequest` into a :class:`Completion` or raises
:class:`ProviderError`. Providers never retry; retries, breakers and fallbacks belong to
the router built on top of them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field


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


class Completion(BaseModel):
    """The result of one completion call. Immutable.

    ``tokens_in``/``tokens_out`` are the provider's own counts (prompt and generated
    tokens); ``latency_s`` is the wall time of the call as seen by the caller.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    provider: str
    model: str
    tokens_in: int = Field(ge=0)
    tokens_out: int = Field(ge=0)
    latency_s: float = Field(ge=0.0)
    finish_reason: str


class ProviderError(Exception):
    """A provider could not produce a completion.

    The message always starts with the provider's name, followed by what went wrong
    (unreachable URL, missing model file, HTTP status and body excerpt, ...).
    """

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(f"{provider} provider: {detail}")
        self.provider = provider
        self.detail = detail


@runtime_checkable
class Provider(Protocol):
    """Anything that can complete a request. ``name`` is the provider kind, ``model`` the
    model it runs."""

    name: str
    model: str

    async def complete(self, request: CompletionRequest) -> Completion: ...
