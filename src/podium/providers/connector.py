"""What every connector shares: a cached model list, a health check built on it, a token
estimate, and the default answers for what a provider does not offer."""

from __future__ import annotations

import time
from collections.abc import Iterable

from podium.providers.base import Completion, Health, Style, ToolCall
from podium.providers.chunks import Chunk, StreamAssembler
from podium.providers.errors import ProviderError

DEFAULT_MODELS_TTL_S = 300.0
# Code and prose average three to four characters a token; three over-counts on purpose,
# so that a prompt judged to fit a window does fit.
CHARS_PER_TOKEN = 3


def approx_tokens(text: str) -> int:
    """A quick, I/O-free upper estimate of ``text``'s token count."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


class ConnectorBase:
    """Base class of the connectors. Subclasses set ``name`` and implement ``_fetch_models``,
    ``complete`` and ``stream``; they may override anything else.

    Guarantees: ``models()`` asks the server at most once per ``models_ttl_s`` (a failed
    fetch is not cached); ``health()`` always asks the server and refreshes that cache.
    """

    name = "connector"
    style: Style = "chat"

    def __init__(self, model: str, *, models_ttl_s: float = DEFAULT_MODELS_TTL_S) -> None:
        self.model = model
        self.models_ttl_s = models_ttl_s
        self._models: list[str] | None = None
        self._models_at = 0.0

    async def _fetch_models(self) -> list[str]:
        raise NotImplementedError

    async def models(self) -> list[str]:
        """The models the server offers, cached for ``models_ttl_s``."""
        if self._models is None or time.monotonic() - self._models_at > self.models_ttl_s:
            self._models = await self._fetch_models()
            self._models_at = time.monotonic()
        return self._models

    async def health(self) -> Health:
        """Reachable when the model list can be fetched; never raises."""
        started = time.perf_counter()
        try:
            self._models = await self._fetch_models()
        except ProviderError as exc:
            return Health(False, exc.detail, time.perf_counter() - started)
        self._models_at = time.monotonic()
        return Health(True, f"{len(self._models)} model(s)", time.perf_counter() - started)

    async def context_length(self, model: str | None = None) -> int | None:
        """The model's context window in tokens, or None when the provider does not say."""
        return None

    async def embed(self, texts: list[str], model: str | None = None) -> list[list[float]]:
        raise ProviderError(self.name, "this provider offers no embeddings", kind="bad_request")

    def completion_from(self, chunks: Iterable[Chunk], started: float) -> Completion:
        """One Completion from a whole reply's chunks (what a non-streaming call returns)."""
        assembler = StreamAssembler()
        for chunk in chunks:
            assembler.add(chunk)
        return Completion(
            text=assembler.text, provider=self.name, model=self.model,
            tokens_in=assembler.tokens_in or 0, tokens_out=assembler.tokens_out or 0,
            usage_estimated=assembler.tokens_in is None, latency_s=time.perf_counter() - started,
            finish_reason=assembler.finish_reason or "unknown",
            tool_calls=tuple(ToolCall(id=i, name=n, arguments=a)
                             for i, n, a in assembler.tool_calls()),
        )

    def estimate_tokens(self, text: str) -> int:
        return approx_tokens(text)

    async def aclose(self) -> None:
        """Release connections; the connector must not be used afterwards."""
