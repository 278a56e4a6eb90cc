"""Budgets per task and per day, by reserve-then-settle.

Before a call is sent, its worst case (the prompt's estimated tokens plus ``max_tokens`` of
answer, at the deployment's price) is reserved against every budget that applies; a call
whose reservation does not fit is not sent. When the call ends, the reservation is replaced
by what the call really cost (or dropped, if it failed). Spending is kept in the ledger, so
it survives restarts; reservations are this process's calls under way.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass

from podium.providers.errors import BudgetExceeded
from podium.providers.ledger import Ledger, utc_day

# Float sums of small costs drift by far less than this.
_EPSILON_USD = 1e-9


@dataclass(frozen=True)
class Reservation:
    keys: tuple[tuple[str, str], ...]
    amount: float


class Budgets:
    """Budgets of one router. Lives on the router's event loop: checking and reserving happen
    with no await between them, so concurrent calls cannot both take the last dollar."""

    def __init__(self, *, per_task_usd: float | None = None, per_day_usd: float | None = None,
                 ledger: Ledger | None = None) -> None:
        self.per_task_usd = per_task_usd
        self.per_day_usd = per_day_usd
        self._ledger = ledger
        self._reserved: defaultdict[tuple[str, str], float] = defaultdict(float)
        self._spent_here: defaultdict[tuple[str, str], float] = defaultdict(float)

    def limits(self, task_id: str | None,
               task_budget: float | None) -> list[tuple[str, str, float]]:
        """``(scope, key, limit)`` of each budget a call of ``task_id`` is under."""
        found = []
        if task_id is not None and (limit := task_budget or self.per_task_usd) is not None:
            found.append(("task", task_id, limit))
        if self.per_day_usd is not None:
            found.append(("day", utc_day(), self.per_day_usd))
        return found

    async def reserve(self, limits: list[tuple[str, str, float]], amount: float,
                      what: str) -> Reservation:
        """Reserve ``amount`` under each of ``limits`` or raise :class:`BudgetExceeded`
        naming the budget, what is left of it and what ``what`` could cost."""
        spent = [await self._spent(scope, key) for scope, key, _ in limits]
        for (scope, key, limit), used in zip(limits, spent, strict=True):
            held = self._reserved[(scope, key)]
            if used + held + amount > limit + _EPSILON_USD:
                owner = f"task {key}" if scope == "task" else f"the day {key} (UTC)"
                raise BudgetExceeded(
                    f"{what} could cost up to ${amount:.4f}, more than is left of the "
                    f"${limit:.2f} budget of {owner}: ${max(limit - used - held, 0):.4f} "
                    f"(spent ${used:.4f}, ${held:.4f} held by calls under way)")
        keys = tuple((scope, key) for scope, key, _ in limits)
        for held_key in keys:
            self._reserved[held_key] += amount
        return Reservation(keys, amount)

    def release(self, reservation: Reservation) -> None:
        for key in reservation.keys:
            self._reserved[key] -= reservation.amount
            if self._reserved[key] <= _EPSILON_USD:
                del self._reserved[key]

    async def record(self, task_id: str | None, cost_usd: float) -> None:
        """Add a finished call's cost to its task's and today's spending."""
        if cost_usd <= 0:
            return
        keys = [("day", utc_day())] + ([("task", task_id)] if task_id is not None else [])
        if self._ledger is not None:
            await asyncio.to_thread(self._ledger.add_spend, keys, cost_usd)
        else:
            for key in keys:
                self._spent_here[key] += cost_usd

    def close(self) -> None:
        """Close the ledger (shared with the deployments' daily quotas)."""
        if self._ledger is not None:
            self._ledger.close()

    async def _spent(self, scope: str, key: str) -> float:
        if self._ledger is not None:
            return await asyncio.to_thread(self._ledger.spent, scope, key)
        return self._spent_here[(scope, key)]
