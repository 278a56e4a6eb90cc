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
    deployment: str | None = None  # the router's deployment this report is about
    requests_today: int | None = None  # counted against the deployment's daily quota


class ProviderMonitor:
    def __init__(self, provider: Provider, *, ttl_s: float = 10.0, timeout_s: float = 5.0):
        self.provider = provider
        self.ttl_s, self.timeout_s = ttl_s, timeout_s
        self._cached: list[ProviderReport] = []
        self._lock = asyncio.Lock()

    async def reports(self) -> list[ProviderReport]:
        """One report per deployment for a router, else one for the provider."""
        async with self._lock:
            if not self._cached or time.time() - self._cached[0].checked_at > self.ttl_s:
                routed = callable(getattr(self.provider, "report", None))
                self._cached = await (self._check_deployments() if routed
                                      else self._check())
            return self._cached

    async def _check_deployments(self) -> list[ProviderReport]:
        router: Any = self.provider
        try:
            deployments = await asyncio.wait_for(router.report(), self.timeout_s)
        except Exception as exc:  # noqa: BLE001  one failed look is every deployment unknown
            detail = (f"health checks took longer than {self.timeout_s:g} s"
                      if isinstance(exc, TimeoutError) else f"health checks failed: {exc}")
            return [ProviderReport(name=d.provider, model=d.model, status="down",
                                   detail=detail, models=[d.model], checked_at=time.time(),
                                   deployment=d.name) for d in router.deployments.values()]
        return [ProviderReport(
            name=d.provider, model=d.model, status="up" if d.health.ok else "down",
            detail=d.health.detail, models=d.models or [d.model], breaker=d.breaker,
            checked_at=time.time(), deployment=d.name, requests_today=d.requests_today)
            for d in deployments]

    async def _check(self) -> list[ProviderReport]:
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
        return [ProviderReport(name=provider.name, model=provider.model, status=status,
                               detail=detail, models=models,
                               breaker=str(breaker) if breaker is not None else None,
                               checked_at=time.time())]
