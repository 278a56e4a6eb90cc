"""Rate limits of one deployment: requests per second with a burst, tokens per minute (both
``aiolimiter`` leaky buckets), and a daily request quota kept in the ledger.

A caller waits for capacity, but never past its deadline: when the wait would run past it,
the call fails with an ``unavailable`` error naming the limit, and the router moves on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

from podium.providers.errors import ProviderError
from podium.providers.ledger import Ledger, utc_day
from podium.providers.timeouts import remaining


@dataclass(frozen=True)
class LimitSpec:
    """What a deployment allows; None means no such limit. ``burst`` defaults to one
    second's worth of requests (at least 1)."""

    requests_per_s: float | None = None
    burst: int | None = None
    tokens_per_min: int | None = None
    requests_per_day: int | None = None


class RateLimits:
    """The limiters of one deployment. Lives on one event loop (aiolimiter's rule)."""

    def __init__(self, deployment: str, spec: LimitSpec, ledger: Ledger | None = None) -> None:
        if spec.requests_per_day is not None and ledger is None:
            raise ValueError(f"deployment {deployment!r}: a daily quota needs Podium's home "
                             "database to count requests in")
        self.deployment = deployment
        self.spec = spec
        self._ledger = ledger
        self._requests: AsyncLimiter | None = None
        self._tokens: AsyncLimiter | None = None
        if spec.requests_per_s is not None:
            burst = spec.burst or max(1, int(spec.requests_per_s))
            # aiolimiter: up to max_rate acquisitions per time_period, leaking evenly; a
            # bucket of `burst` that drains at `requests_per_s` is exactly that.
            self._requests = AsyncLimiter(burst, burst / spec.requests_per_s)
        if spec.tokens_per_min is not None:
            self._tokens = AsyncLimiter(spec.tokens_per_min, 60)

    async def acquire(self, tokens: int, deadline: float) -> None:
        """Take one request (and ``tokens`` tokens) of capacity, waiting until ``deadline``
        at most. Raises ``quota`` when today's quota is used up, ``bad_request`` when the
        tokens exceed a whole minute's allowance, ``unavailable`` when waiting would pass the
        deadline; a request taken from the daily quota is given back if it is not sent."""
        day = utc_day()
        quota = self.spec.requests_per_day
        if quota is not None:
            assert self._ledger is not None
            if not await asyncio.to_thread(self._ledger.take_request, self.deployment, day,
                                           quota):
                raise ProviderError(
                    "router", f"deployment {self.deployment!r} has used its daily quota of "
                    f"{quota:,} requests (it resets at 00:00 UTC)", kind="quota")
        try:
            if self._requests is not None:
                await self._wait(self._requests, 1, deadline,
                                 f"{self.spec.requests_per_s:g} requests/s")
            if self._tokens is not None:
                if tokens > self._tokens.max_rate:
                    raise ProviderError(
                        "router", f"the request needs about {tokens:,} tokens, more than "
                        f"deployment {self.deployment!r} allows in a minute "
                        f"({self.spec.tokens_per_min:,})", kind="bad_request")
                await self._wait(self._tokens, tokens, deadline,
                                 f"{self.spec.tokens_per_min:,} tokens/min")
        except BaseException:
            if quota is not None:
                assert self._ledger is not None
                await asyncio.to_thread(self._ledger.give_back_request, self.deployment, day)
            raise

    async def _wait(self, limiter: AsyncLimiter, amount: float, deadline: float,
                    limit: str) -> None:
        if limiter.has_capacity(amount):
            await limiter.acquire(amount)
            return
        try:
            async with asyncio.timeout(remaining(deadline)):
                await limiter.acquire(amount)
        except TimeoutError:
            raise ProviderError(
                "router", f"waiting for deployment {self.deployment!r}'s limit of {limit} "
                "would pass the caller's deadline", kind="unavailable") from None

    def used_today(self) -> int | None:
        if self.spec.requests_per_day is None or self._ledger is None:
            return None
        return self._ledger.requests(self.deployment, utc_day())
