"""Routing: by what a call prefers, by context window (decided before sending), through a
health-checked local-first chain; and the reason that ends up in LLM_CALL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from podium.providers import CompletionRequest, ProviderError, Router
from podium.providers.costs import Price
from podium.providers.routing import Chain, Route
from tests.providers.fakes.harness import FakeServer, free_port
from tests.providers.routers import ollama_deployment, openai_deployment


async def test_purposes_route_to_a_strong_or_a_fast_model(
        openai_fake: FakeServer, ollama_fake: FakeServer, make: Callable[..., Router]) -> None:
    strong = openai_deployment(openai_fake, "strong", quality=5, price=Price(2.5, 10.0))
    fast = ollama_deployment(ollama_fake, "fast", quality=2)
    r = make(fast, strong, routes={"plan": Route(prefer="quality"), "fix": Route(prefer="cost")})
    plan = await r.complete(CompletionRequest(prompt="plan it", purpose="plan"))
    fix = await r.complete(CompletionRequest(prompt="fix it", purpose="fix"))
    assert (plan.deployment, fix.deployment) == ("strong", "fast")
    assert "prefers quality: strong (quality 5), fast (quality 2)" in plan.route_reason
    assert "prefers cost: fast (up to $0.0000), strong (up to $0.0051)" in fix.route_reason
    assert plan.cost_usd == pytest.approx((2 * 2.5 + 4 * 10.0) / 1e6)  # usage: 2 in, 4 out
    assert fix.cost_usd == 0.0 and not fix.usage_estimated  # local and free
    # the caller can ask for itself, overriding the purpose's preference
    asked = await r.complete(CompletionRequest(prompt="x", purpose="fix", prefer="quality"))
    assert asked.deployment == "strong"


async def test_latency_preference_uses_what_was_measured(
        openai_fake: FakeServer, ollama_fake: FakeServer, make: Callable[..., Router]) -> None:
    slow, quick = openai_deployment(openai_fake, "slow"), ollama_deployment(ollama_fake, "quick")
    slow.latency_s, quick.latency_s = 2.0, 0.1
    r = make(slow, quick)
    done = await r.complete(CompletionRequest(prompt="x", prefer="latency"))
    assert done.deployment == "quick"
    assert "prefers latency: quick (0.10 s), slow (2.00 s)" in done.route_reason


async def test_a_prompt_too_long_for_the_window_goes_to_a_larger_one_before_sending(
        openai_fake: FakeServer, ollama_fake: FakeServer, make: Callable[..., Router]) -> None:
    openai_fake.options["models"] = [{"id": "gpt-4o", "object": "model", "created": 0,
                                      "owned_by": "openai", "context_window": 128_000}]
    small = ollama_deployment(ollama_fake, "small", context_window=1024)
    large = openai_deployment(openai_fake, "large")  # its window is looked up: 128,000
    r = make(small, large, chains={"default": Chain("default", ("small",)),
                                   "long": Chain("long", ("large",))}, context_chain="long")
    short = await r.complete(CompletionRequest(prompt="short", max_tokens=100))
    long = await r.complete(CompletionRequest(prompt="word " * 1000, max_tokens=100))
    assert (short.deployment, long.deployment) == ("small", "large")
    assert "context: the prompt needs about 1,767 tokens (small holds 1,024), so it goes to " \
           "large (128,000 tokens)" in long.route_reason
    assert not long.fallback  # decided before sending, not after a failure
    assert len(ollama_fake.requests) == 1  # the long prompt was never sent to the small one
    with pytest.raises(ProviderError, match="no deployment holds it") as info:
        await r.complete(CompletionRequest(prompt="word " * 200_000))
    assert info.value.kind == "context_length"


async def test_a_local_first_chain_skips_members_whose_cached_health_fails(
        openai_fake: FakeServer, ollama_fake: FakeServer, make: Callable[..., Router]) -> None:
    from podium.providers import OllamaProvider
    from podium.providers.deployment import Deployment
    from tests.providers.routers import FAST

    mlx = Deployment("mlx", OllamaProvider("m", f"http://127.0.0.1:{free_port()}"), local=True,
                     timeouts=FAST, health_ttl_s=60)
    chain = Chain("default", ("mlx", "ollama", "cloud"), check_health=True)
    r = make(mlx, ollama_deployment(ollama_fake, "ollama"), openai_deployment(openai_fake),
             chains={"default": chain})
    for _ in range(3):
        done = await r.complete(CompletionRequest(prompt="x"))
        assert done.deployment == "ollama" and not done.fallback
        assert "skipped mlx (health check: server unreachable" in done.route_reason
    assert openai_fake.requests == []
    # the down member's health was asked once, then served from the cache
    assert mlx._health is not None and mlx._health[0].ok is False


def test_bad_chains_and_routes_are_refused(openai_fake: FakeServer) -> None:
    d = openai_deployment(openai_fake)
    with pytest.raises(ValueError, match="chain 'default' names unknown deployment"):
        Router([d], chains={"default": Chain("default", ("nope",))})
    with pytest.raises(ValueError, match="purpose 'plan' names unknown chain 'big'"):
        Router([d], routes={"plan": Route(chain="big")})
    with pytest.raises(ValueError, match="distinct names"):
        Router([d, openai_deployment(openai_fake)])


async def test_hints_restrict_a_call_to_the_deployments_they_name(
        openai_fake: FakeServer, ollama_fake: FakeServer, make: Callable[..., Router]) -> None:
    cloud, local = openai_deployment(openai_fake, "cloud"), ollama_deployment(ollama_fake, "local")
    r = make(cloud, local, chains={"default": Chain("default", ("cloud",))})
    by_provider = await r.complete(CompletionRequest(prompt="x", provider="ollama"))
    by_name = await r.complete(CompletionRequest(prompt="x", provider="cloud"))
    by_model = await r.complete(CompletionRequest(prompt="x", model="qwen2.5-coder:7b"))
    assert (by_provider.deployment, by_name.deployment, by_model.deployment) == (
        "local", "cloud", "local")  # "local" is outside the default chain, yet hinted
    assert "hinted provider 'ollama'" in by_provider.route_reason
    assert [d.name for d in r.matching("openai", "gpt-4o")] == ["cloud"]
    with pytest.raises(ProviderError) as refused:
        await r.complete(CompletionRequest(prompt="x", provider="ollama", model="gpt-4o"))
    assert refused.value.kind == "bad_request"
    assert "no deployment serves provider 'ollama' and model 'gpt-4o'" in str(refused.value)
    assert len(ollama_fake.requests) == 2 and len(openai_fake.requests) == 1  # none sent
