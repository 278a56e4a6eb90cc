"""Building routers over the fakes with short timeouts, and reading what a caller received."""

from __future__ import annotations

from typing import Any

from podium.providers import Chunk, OllamaProvider, OpenAICompatProvider, Router
from podium.providers.breaker import CircuitBreaker
from podium.providers.deployment import Deployment
from podium.providers.router import RetryPolicy
from podium.providers.timeouts import Timeouts
from tests.providers.fakes.harness import FakeServer

FAST = Timeouts(connect_s=2, first_token_s=0.5, idle_s=0.5, total_s=8)
QUICK_RETRIES = RetryPolicy(backoff_s=0.01, backoff_max_s=0.05, jitter_s=0.01,
                            max_retry_after_s=2, call_timeout_s=20)


def openai_deployment(server: FakeServer, name: str = "cloud", **options: Any) -> Deployment:
    connector = OpenAICompatProvider(f"{server.url}/v1", "sk-test", "gpt-4o", timeout_s=8)
    return Deployment(name=name, connector=connector, timeouts=options.pop("timeouts", FAST),
                      breaker=options.pop("breaker", CircuitBreaker(cooldown_s=5)), **options)


def ollama_deployment(server: FakeServer, name: str = "local", **options: Any) -> Deployment:
    connector = OllamaProvider("qwen2.5-coder:7b", server.url, timeout_s=8)
    return Deployment(name=name, connector=connector, local=True,
                      timeouts=options.pop("timeouts", FAST), **options)


def router(*deployments: Deployment, **options: Any) -> Router:
    return Router(deployments, policy=options.pop("policy", QUICK_RETRIES), **options)


def segments(chunks: list[Chunk]) -> list[list[Chunk]]:
    """The caller's chunks cut at each ``error`` chunk: one list per attempt that sent
    output, the last one being the answer that finished."""
    parts: list[list[Chunk]] = [[]]
    for chunk in chunks:
        if chunk.kind == "error":
            parts.append([])
        else:
            parts[-1].append(chunk)
    return parts


def texts(chunks: list[Chunk]) -> list[str]:
    return [c.text for c in chunks if c.kind == "text"]
