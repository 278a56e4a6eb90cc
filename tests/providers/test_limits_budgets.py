"""Rate limits (aiolimiter), the daily quota and budgets kept in a real SQLite home (and
surviving a restart), prices, and the circuit breaker's states."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from podium.providers import BudgetExceeded, CompletionRequest, ProviderError, Router
from podium.providers.breaker import BreakerState, CircuitBreaker
from podium.providers.budgets import Budgets
from podium.providers.costs import Price, PriceTable
from podium.providers.errors import ProviderError as Error
from podium.providers.ledger import Ledger, utc_day
from podium.providers.limits import LimitSpec, RateLimits
from tests.providers.fakes.harness import FakeServer
from tests.providers.routers import ollama_deployment, openai_deployment

GPT = Price(2.5, 10.0)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger(tmp_path / "podium.db")
    yield opened
    opened.close()


# --- rate limits --------------------------------------------------------------------------


async def test_requests_per_second_with_a_burst() -> None:
    limits = RateLimits("d", LimitSpec(requests_per_s=3, burst=5))
    far = time.monotonic() + 30
    for _ in range(5):  # the burst goes through at once
        await limits.acquire(1, far)
    with pytest.raises(ProviderError, match="limit of 3 requests/s would pass the caller's "
                                            "deadline") as info:
        await limits.acquire(1, time.monotonic() + 0.05)  # the next slot is ~0.33 s away
    assert info.value.kind == "unavailable"
    await limits.acquire(1, far)  # a caller with time to spare waits for its slot


async def test_tokens_per_minute() -> None:
    limits = RateLimits("d", LimitSpec(tokens_per_min=1000))
    far = time.monotonic() + 30
    await limits.acquire(900, far)
    with pytest.raises(ProviderError, match="tokens/min would pass"):
        await limits.acquire(200, time.monotonic() + 0.05)
    with pytest.raises(ProviderError, match="more than deployment 'd' allows in a minute") as info:
        await limits.acquire(5000, far)
    assert info.value.kind == "bad_request"


async def test_the_daily_quota_survives_a_restart(tmp_path: Path) -> None:
    first = Ledger(tmp_path / "podium.db")
    limits = RateLimits("cloud", LimitSpec(requests_per_day=2), first)
    far = time.monotonic() + 30
    await limits.acquire(1, far)
    await limits.acquire(1, far)
    with pytest.raises(ProviderError, match="used its daily quota of 2 requests") as info:
        await limits.acquire(1, far)
    assert info.value.kind == "quota"
    first.close()
    again = Ledger(tmp_path / "podium.db")  # a new process on the same home
    restarted = RateLimits("cloud", LimitSpec(requests_per_day=2), again)
    assert restarted.used_today() == 2
    with pytest.raises(ProviderError, match="daily quota"):
        await restarted.acquire(1, far)
    assert again.requests("cloud", "1999-01-01") == 0  # another day starts from zero
    again.close()


async def test_a_quota_slot_is_given_back_when_the_request_is_not_sent(ledger: Ledger) -> None:
    limits = RateLimits("d", LimitSpec(requests_per_s=1, burst=1, requests_per_day=5), ledger)
    await limits.acquire(1, time.monotonic() + 30)
    with pytest.raises(ProviderError, match="deadline"):
        await limits.acquire(1, time.monotonic() + 0.05)
    assert limits.used_today() == 1


def test_a_daily_quota_needs_the_home_database() -> None:
    with pytest.raises(ValueError, match="needs Podium's home database"):
        RateLimits("d", LimitSpec(requests_per_day=10))


async def test_the_router_falls_back_when_a_quota_is_used_up(
        openai_fake: FakeServer, ollama_fake: FakeServer, ledger: Ledger,
        make: Callable[..., Router]) -> None:
    def build() -> Router:
        cloud = openai_deployment(openai_fake, limits=RateLimits(
            "cloud", LimitSpec(requests_per_day=1), ledger))
        return make(cloud, ollama_deployment(ollama_fake))

    assert (await build().complete(CompletionRequest(prompt="x"))).deployment == "cloud"
    second = await build().complete(CompletionRequest(prompt="x"))  # as after a restart
    assert second.deployment == "local" and "daily quota of 1 requests" in second.route_reason
    assert len(openai_fake.requests) == 1


# --- prices and budgets -------------------------------------------------------------------


def test_the_price_table_matches_families_and_takes_overrides(tmp_path: Path) -> None:
    table = PriceTable.load()
    assert table.price("gpt-4o") == Price(2.5, 10.0)
    assert table.price("gpt-4o-2024-08-06") == Price(2.5, 10.0)
    assert table.price("gpt-4o-mini") == Price(0.15, 0.6)  # the longest match wins
    assert table.price("models/gemini-2.5-pro") == Price(1.25, 10.0)
    assert table.price("qwen2.5-coder:7b") is None
    mine = tmp_path / "prices.toml"
    mine.write_text('["gpt-4o"]\ninput = 1.0\noutput = 2.0\n["my-model"]\ninput = 0.5\n'
                    'output = 0.5\n')
    table = PriceTable.load(mine, {"my-model": Price(9, 9)})
    assert table.price("gpt-4o") == Price(1.0, 2.0) and table.price("my-model") == Price(9, 9)
    mine.write_text('["x"]\ninput = 1.0\n')
    with pytest.raises(ValueError, match="entry 'x' needs exactly `input` and `output`"):
        PriceTable.load(mine)
    with pytest.raises(ValueError, match="cannot read the price file"):
        PriceTable.load(tmp_path / "missing.toml")


async def test_reserve_then_settle_holds_concurrent_calls_to_the_budget() -> None:
    budgets = Budgets(per_task_usd=1.0)
    limits = budgets.limits("t1", None)
    first = await budgets.reserve(limits, 0.6, "call one")
    with pytest.raises(BudgetExceeded, match="\\$0.4000 .*\\$0.6000 held by calls under way"):
        await budgets.reserve(limits, 0.6, "call two")
    await budgets.record("t1", 0.1)  # call one cost less than its worst case,
    budgets.release(first)
    await budgets.reserve(limits, 0.6, "call two")  # so call two now fits


async def test_a_task_over_budget_falls_back_to_a_free_model_then_stops(
        openai_fake: FakeServer, ollama_fake: FakeServer, make: Callable[..., Router]) -> None:
    r = make(openai_deployment(openai_fake, price=GPT), ollama_deployment(ollama_fake))
    # Worst case of a call: 3 tokens in (estimated) and 1,000 out at $10/M = $0.0100075.
    # Each call really costs 2 in and 4 out: $0.000045. The task may spend $0.0101: three
    # calls fit, then a fourth worst case would not.
    request = CompletionRequest(prompt="write add", max_tokens=1000, task_id="t1",
                                budget_usd=0.0101)
    costs = [await r.complete(request) for _ in range(3)]
    assert [c.deployment for c in costs] == ["cloud"] * 3
    assert costs[0].cost_usd == pytest.approx(4.5e-5)
    fourth = await r.complete(request)
    assert fourth.deployment == "local" and fourth.cost_usd == 0  # the free one still fits
    assert "more than is left of the $0.01 budget of task t1" in fourth.route_reason
    alone = make(openai_deployment(openai_fake, price=GPT))
    other = request.model_copy(update={"task_id": "t2"})
    for _ in range(3):
        await alone.complete(other)
    with pytest.raises(BudgetExceeded, match="budget of task t2") as info:
        await alone.complete(other)
    assert str(info.value).startswith("router provider: no deployment could answer")


async def test_the_day_budget_is_kept_in_the_ledger(
        openai_fake: FakeServer, ledger: Ledger, make: Callable[..., Router]) -> None:
    def build() -> Router:
        return make(openai_deployment(openai_fake, price=GPT),
                    budgets=Budgets(per_day_usd=0.0011, ledger=ledger))

    request = CompletionRequest(prompt="write add", max_tokens=100)
    done = await build().complete(request)
    assert ledger.spent("day", utc_day()) == pytest.approx(done.cost_usd)
    await build().complete(request)  # a new router (a restart) sees what was spent
    spent = ledger.spent("day", utc_day())
    assert spent == pytest.approx(2 * done.cost_usd)


async def test_an_unpriced_cloud_model_cannot_be_held_to_a_budget(
        openai_fake: FakeServer, make: Callable[..., Router]) -> None:
    r = make(openai_deployment(openai_fake), budgets=Budgets(per_day_usd=5))
    with pytest.raises(BudgetExceeded, match="price is unknown"):
        await r.complete(CompletionRequest(prompt="x"))
    assert openai_fake.requests == []


async def test_usage_a_server_does_not_report_is_estimated_and_marked(
        openai_fake: FakeServer, make: Callable[..., Router]) -> None:
    openai_fake.options["stream_usage"] = False  # a server that ignores stream_options
    done = await make(openai_deployment(openai_fake, price=GPT)).complete(
        CompletionRequest(prompt="write add"))
    assert done.usage_estimated and done.tokens_in == 3  # estimated from the prompt's size
    assert done.cost_usd == pytest.approx(GPT.cost(done.tokens_in, done.tokens_out))


# --- breaker ------------------------------------------------------------------------------


def test_breaker_states() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, cooldown_s=10, max_cooldown_s=40,
                             clock=lambda: now[0])
    breaker.record_failure(Error("p", "boom", kind="server"))
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure(Error("p", "boom", kind="bad_request"))  # not the deployment's fault
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure(Error("p", "boom", kind="timeout"))
    assert breaker.state is BreakerState.OPEN and breaker.open_remaining_s() == 10
    now[0] = 10
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.probe_result(False, "still down")
    assert breaker.state is BreakerState.OPEN and breaker.open_remaining_s() == 20  # doubled
    now[0] = 30
    breaker.probe_result(True)
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 0
    breaker.record_failure(Error("p", "slow down", kind="rate_limit", retry_after_s=3))
    assert breaker.open_remaining_s() == 3  # a 429 cools down at once, for what was asked
    breaker.record_failure(Error("p", "no credit", kind="quota"))
    assert breaker.open_remaining_s() == 40


async def test_a_half_open_deployment_is_probed_before_it_gets_a_call(
        openai_fake: FakeServer, make: Callable[..., Router]) -> None:
    cloud = openai_deployment(openai_fake, breaker=CircuitBreaker(cooldown_s=0.1))
    cloud.breaker.trip(0.1, "test")
    r = make(cloud)
    await asyncio.sleep(0.15)
    assert cloud.breaker.state is BreakerState.HALF_OPEN
    await r.complete(CompletionRequest(prompt="x"))
    assert openai_fake.paths[-2:] == ["/v1/models", "/v1/chat/completions"]
    assert cloud.breaker.state is BreakerState.CLOSED
