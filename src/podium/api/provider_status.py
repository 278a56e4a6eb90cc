"""The server's view of its model provider: health, models and breaker state.

It asks the provider itself: ``health()`` and ``models()`` when the provider has them (the
connectors do: the embedded model checks its file, OpenAI-compatible servers their model
list). A provider without a health check is reported "unknown" and counts as up: readiness
fails only on a check that ran and failed. Answers are cached for a few seconds so probes
and dashboards do not hammer a model server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from podium.providers import Provider

HealthState = Literal["up", "down", "unknown"]


@dataclass(frozen=True)
class ProviderReport:
    name: str
    model: str
    status: HealthState
    detail: str
    models: list[str] = field(default_factory=list)
    breaker: str | None = None  # the router's breaker state, when the provider has one
    checked_at: float = 0.0  # Unix time of the check


class ProviderMonitor:
    def __init__(self, provider: Provider, *, ttl_s: float = 10.0, timeout_s: float = 5.0):
        self.provider = provider
        self.ttl_s, self.timeout_s = ttl_s, timeout_s
        self._cached: ProviderReport | None = None
        self._lock = asyncio.Lock()

    async def reports(self) -> list[ProviderReport]:
        async with self._lock:
            if self._cached is None or time.time() - self._cached.checked_at > self.ttl_s:
                self._cached = await self._check()
            return [self._cached]

    async def _check(self) -> ProviderReport:
        provider: Any = self.provider
        status: HealthState = "unknown"
        detail = "this provider has no health check"
        if callable(getattr(provider, "health", None)):
            try:
                health = await asyncio.wait_for(provider.health(), self.timeout_s)
                status, detail = ("up" if health.ok else "down"), health.detail
            except TimeoutError:
                status, detail = "down", f"health check took longer than {self.timeout_s:g} s"
            except Exception as exc:  # a broken check is a failed check, not a server error
                status, detail = "down", f"health check failed: {exc}"
        models = [provider.model]
        if status == "up" and callable(getattr(provider, "models", None)):
            # The list is informative only: health has already said the provider is up.
            with contextlib.suppress(Exception):
                models = list(await asyncio.wait_for(provider.models(), self.timeout_s))
        breaker = getattr(provider, "breaker_state", None)
        return ProviderReport(name=provider.name, model=provider.model, status=status,
                              detail=detail, models=models,
                              breaker=str(breaker) if breaker is not None else None,
                              checked_at=time.time())
