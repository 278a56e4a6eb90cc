"""A circuit breaker per deployment: closed, open, half-open.

Closed: calls go through; consecutive failures of the deployment itself (timeouts, lost
connections, 5xx, malformed streams) are counted. At ``failure_threshold`` the breaker opens
for ``cooldown_s``; a 429 or an overload opens it at once for the time the server asked
(or ``cooldown_s``); a used-up quota or a refused key opens it for ``max_cooldown_s``.
When the cool-down ends the breaker is half-open: the router probes the deployment with an
active health check (not a user's request) and closes the breaker if the probe passes, or
opens it again for twice as long (up to ``max_cooldown_s``) if it fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from podium.providers.errors import ProviderError

# Failures that say something about the deployment, not about the request.
_COUNTED = frozenset({"timeout", "connection", "conflict", "server", "protocol"})
_COOL_AT_ONCE = frozenset({"rate_limit", "overloaded"})
_LONG_COOL = frozenset({"quota", "auth"})


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """The breaker of one deployment. Not thread-safe: the router uses it from one loop."""

    def __init__(self, failure_threshold: int = 3, cooldown_s: float = 30.0,
                 max_cooldown_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failure_threshold < 1 or cooldown_s <= 0 or max_cooldown_s < cooldown_s:
            raise ValueError("need failure_threshold >= 1 and 0 < cooldown_s <= max_cooldown_s")
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.max_cooldown_s = max_cooldown_s
        self._clock = clock
        self.failures = 0
        self.reason = ""
        self._open_until: float | None = None
        self._last_cooldown = 0.0

    @property
    def state(self) -> BreakerState:
        if self._open_until is None:
            return BreakerState.CLOSED
        if self._clock() < self._open_until:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def open_remaining_s(self) -> float:
        """Seconds until the cool-down ends (0 when not open)."""
        if self._open_until is None:
            return 0.0
        return max(self._open_until - self._clock(), 0.0)

    def record_success(self) -> None:
        self.failures = 0
        self._open_until = None
        self._last_cooldown = 0.0
        self.reason = ""

    def record_failure(self, error: ProviderError) -> None:
        if error.kind in _COOL_AT_ONCE:
            wait = error.retry_after_s if error.retry_after_s is not None else self.cooldown_s
            self.trip(min(wait, self.max_cooldown_s), f"{error.kind}: {error.detail}")
        elif error.kind in _LONG_COOL:
            self.trip(self.max_cooldown_s, f"{error.kind}: {error.detail}")
        elif error.kind in _COUNTED:
            self.failures += 1
            if self.failures >= self.failure_threshold:
                self.trip(self.cooldown_s, f"{self.failures} failures in a row, last: "
                          f"{error.detail}")

    def trip(self, seconds: float, reason: str) -> None:
        """Open for ``seconds``, or longer if already open for longer."""
        until = self._clock() + seconds
        if self._open_until is None or until > self._open_until:
            self._open_until = until
            self._last_cooldown = seconds
        self.reason = reason

    def probe_result(self, ok: bool, detail: str = "") -> None:
        """The outcome of the half-open health probe."""
        if ok:
            self.record_success()
            return
        cooldown = min(max(self._last_cooldown * 2, self.cooldown_s), self.max_cooldown_s)
        self._open_until = self._clock() + cooldown
        self._last_cooldown = cooldown
        self.reason = f"health probe failed: {detail}"

    def describe(self) -> str:
        state = self.state
        if state is BreakerState.CLOSED:
            return f"closed ({self.failures} recent failure(s))" if self.failures else "closed"
        if state is BreakerState.OPEN:
            return f"open for {self.open_remaining_s():.1f} s more ({self.reason})"
        return f"half-open, awaiting a health probe ({self.reason})"
