"""A deployment: one model on one connector, with what the router knows and keeps about it
(limits, breaker, timeouts, price, context window, cached health, observed latency)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from podium.providers.base import Connector, Health
from podium.providers.breaker import BreakerState, CircuitBreaker
from podium.providers.costs import FREE, Price
from podium.providers.errors import ProviderError
from podium.providers.limits import RateLimits
from podium.providers.timeouts import Timeouts

# How long a failed context-window lookup is remembered before it is tried again.
_WINDOW_RETRY_S = 60.0
# Weight of the newest latency in the moving average used for latency routing.
_LATENCY_WEIGHT = 0.3


@dataclass(eq=False)
class Deployment:
    """Guarantees: the context window is looked up at most once (a failed lookup at most
    once a minute) and the lookup never raises; ``cached_health`` asks the server at most
    once per ``health_ttl_s``; ``probe`` always asks."""

    name: str
    connector: Connector
    local: bool = False
    quality: int = 3  # 1 (weakest) .. 5 (strongest), for routing by quality
    stream: bool = True  # complete() streams, so first-token and idle timeouts apply
    retries: int = 2  # further attempts on this deployment before falling back
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: RateLimits | None = None
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    price: Price | None = None  # None: unknown (free when local)
    context_window: int | None = None  # configured; otherwise looked up
    health_ttl_s: float = 30.0
    latency_s: float | None = None  # moving average of successful calls
    _window_at: float | None = None
    _health: tuple[Health, float] | None = None
    _probe_lock: asyncio.Lock | None = None

    @property
    def provider(self) -> str:
        return self.connector.name

    @property
    def model(self) -> str:
        return self.connector.model

    def matches(self, provider: str | None, model: str | None) -> bool:
        """Whether hints allow this deployment: ``provider`` names its provider or the
        deployment itself, ``model`` its model; None allows any."""
        return provider in (None, self.provider, self.name) and model in (None, self.model)

    def cost_rate(self) -> Price | None:
        """The price used for this deployment: its own, free for an unpriced local one."""
        return FREE if self.price is None and self.local else self.price

    async def window(self) -> int | None:
        """The context window in tokens, or None when neither configured nor discoverable."""
        if self.context_window is not None:
            return self.context_window
        now = time.monotonic()
        if self._window_at is None or now - self._window_at > _WINDOW_RETRY_S:
            self._window_at = now
            try:
                async with asyncio.timeout(self.timeouts.connect_s):
                    self.context_window = await self.connector.context_length()
            except (ProviderError, TimeoutError):
                return None
        return self.context_window

    async def cached_health(self) -> Health:
        if self._health is not None and time.monotonic() - self._health[1] < self.health_ttl_s:
            return self._health[0]
        return await self.check_health()

    async def check_health(self) -> Health:
        """Ask now (bounded by the connect timeout) and remember the answer."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeouts.connect_s):
                health = await self.connector.health()
        except TimeoutError:
            health = Health(False, f"no answer within {self.timeouts.connect_s:g} s",
                            time.perf_counter() - started)
        self._health = (health, time.monotonic())
        return health

    async def probe(self) -> bool:
        """The half-open probe: one health check at a time; its result decides the breaker."""
        if self._probe_lock is None:
            self._probe_lock = asyncio.Lock()
        async with self._probe_lock:
            if self.breaker.state is not BreakerState.HALF_OPEN:
                return self.breaker.state is BreakerState.CLOSED  # another probe decided
            health = await self.check_health()
            self.breaker.probe_result(health.ok, health.detail)
            return health.ok

    def observe_latency(self, seconds: float) -> None:
        previous = self.latency_s
        self.latency_s = seconds if previous is None else (
            _LATENCY_WEIGHT * seconds + (1 - _LATENCY_WEIGHT) * previous)
