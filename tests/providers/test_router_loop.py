"""The router called the way the workflow calls it: from many threads, each with its own
short-lived event loop, all sharing one set of limiters, breakers and budgets."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from podium.providers import CompletionRequest, Router
from podium.providers.budgets import Budgets
from podium.providers.costs import Price
from podium.providers.limits import LimitSpec, RateLimits
from tests.providers.fakes.harness import TEXT, FakeServer
from tests.providers.routers import openai_deployment, router

THREADS, CALLS = 6, 4


@pytest.fixture
def shared(openai_fake: FakeServer) -> Iterator[Router]:
    cloud = openai_deployment(openai_fake, price=Price(2.5, 10.0),
                              limits=RateLimits("cloud", LimitSpec(requests_per_s=200, burst=5)))
    built = router(cloud, budgets=Budgets(per_day_usd=10.0))
    yield built
    built.close()


def test_calls_from_many_threads_and_loops_share_one_router(
        shared: Router, openai_fake: FakeServer) -> None:
    results: list[tuple[str, float]] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        for i in range(CALLS):
            request = CompletionRequest(prompt=f"call {n} {i}", task_id=f"t{n}")
            try:
                done = asyncio.run(shared.complete(request))  # a new loop for each call
                results.append((done.text, done.cost_usd))
            except BaseException as exc:  # reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert [text for text, _ in results] == [TEXT] * THREADS * CALLS
    assert len(openai_fake.requests) == THREADS * CALLS  # no call lost, none sent twice
    spent = shared.budgets._spent_here[("day", next(iter(shared.budgets._spent_here))[1])]
    assert spent == pytest.approx(sum(cost for _, cost in results))


async def test_a_caller_that_stops_reading_releases_what_it_held(
        shared: Router, openai_fake: FakeServer) -> None:
    request = CompletionRequest(prompt="x", task_id="t", budget_usd=1.0)
    async for chunk in shared.stream(request):
        assert chunk.kind == "text"
        break  # the caller walks away mid-answer
    await asyncio.sleep(0.1)
    assert shared.budgets._reserved == {}  # the reservation went with the abandoned call
    assert (await shared.complete(request)).text == TEXT  # and the router carries on
