"""What the router does for each fault a provider can throw at it, over real HTTP, and that
the caller receives every chunk of the answer exactly once, in order.

The faulty deployment is the OpenAI-cloud fake; where a fallback is wanted it is the Ollama
fake. Timeouts are half a second so the suite stays fast.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from podium.providers import CallRecord, Chunk, CompletionRequest, ProviderError, Router
from podium.providers.breaker import BreakerState
from tests.providers.fakes import openai_cloud
from tests.providers.fakes.harness import ANSWER, TEXT, FakeServer, Fault, status
from tests.providers.routers import (
    ollama_deployment,
    openai_deployment,
    segments,
    texts,
)

REQUEST = CompletionRequest(prompt="write add", max_tokens=64)


async def received(r: Router, request: CompletionRequest = REQUEST,
                   record: CallRecord | None = None) -> list[Chunk]:
    return [chunk async for chunk in r.stream(request, record)]


# Faults the router retries on the same deployment; (fault, text chunks the caller got from
# the failed attempt: the fake's first frame carries only the role).
RETRIED = {
    "500": (status(500, openai_cloud.SERVER_ERROR), 0),
    "503": (status(503, openai_cloud.SERVER_ERROR), 0),
    "408": (status(408, openai_cloud.SERVER_ERROR), 0),
    "409": (status(409, openai_cloud.SERVER_ERROR), 0),
    "hang before the first byte": (Fault("hang", seconds=5), 0),
    "stall mid-stream": (Fault("stall", after=3, seconds=5), 2),
    "malformed line": (Fault("malformed", after=2), 1),
    "error object mid-stream": (Fault("error", after=3), 2),
    "reset connection": (Fault("reset", after=3), 2),
    "stream cut short": (Fault("cut", after=4), 3),
}


@pytest.mark.parametrize("name", list(RETRIED))
async def test_a_transient_fault_is_retried_and_the_answer_arrives_whole(
        openai_fake: FakeServer, make: Callable[..., Router], name: str) -> None:
    fault, withdrawn = RETRIED[name]
    openai_fake.faults.append(fault)
    r = make(openai_deployment(openai_fake))
    record = CallRecord()
    chunks = await received(r, record=record)
    parts = segments(chunks)
    assert texts(parts[-1]) == ANSWER  # the finished answer: every chunk once, in order
    if withdrawn:
        # the failed attempt's chunks reached the caller, then one error chunk withdrew them
        assert len(parts) == 2 and texts(parts[0]) == ANSWER[:withdrawn]
        error = next(c for c in chunks if c.kind == "error")
        assert error.attempt == 1 and "withdrawn" in error.text
    else:
        assert len(parts) == 1  # nothing had reached the caller: the retry is invisible
    assert len(openai_fake.requests) == 2 and record.attempt == 2
    assert record.deployment is not None and record.deployment.name == "cloud"
    assert not record.fallback and record.failures == []


@pytest.mark.parametrize("name", ["500", "stall mid-stream", "error object mid-stream"])
async def test_complete_returns_only_the_answer_that_finished(
        openai_fake: FakeServer, make: Callable[..., Router], name: str) -> None:
    openai_fake.faults.append(RETRIED[name][0])
    completion = await make(openai_deployment(openai_fake)).complete(REQUEST)
    assert completion.text == TEXT
    assert (completion.attempt, completion.deployment, completion.fallback) == (2, "cloud", False)
    assert completion.ttft_s is not None and completion.ttft_s <= completion.latency_s


async def test_429_with_retry_after_cools_the_deployment_and_falls_back(
        openai_fake: FakeServer, ollama_fake: FakeServer, make: Callable[..., Router]) -> None:
    openai_fake.faults.append(status(429, openai_cloud.RATE_LIMITED, retry_after="30"))
    cloud = openai_deployment(openai_fake)
    r = make(cloud, ollama_deployment(ollama_fake))
    completion = await r.complete(REQUEST)
    assert (completion.deployment, completion.fallback, completion.attempt) == ("local", True, 2)
    assert len(openai_fake.requests) == 1  # not retried there: there is somewhere else to go
    assert cloud.breaker.state is BreakerState.OPEN
    assert cloud.breaker.open_remaining_s() > 25  # the server's 30 s, not our default 5 s
    # the next call skips the cooling deployment without sending it anything
    again = await r.complete(REQUEST)
    assert again.deployment == "local" and len(openai_fake.requests) == 1
    assert again.fallback and "failed first: cloud: deployment 'cloud' is cooling down" in \
        again.route_reason


async def test_429_on_the_last_deployment_waits_retry_after_then_probes(
        openai_fake: FakeServer, make: Callable[..., Router]) -> None:
    openai_fake.faults.append(status(429, openai_cloud.RATE_LIMITED, retry_after_ms="200"))
    cloud = openai_deployment(openai_fake)
    completion = await make(cloud).complete(REQUEST)
    assert completion.text == TEXT and completion.attempt == 2
    # (the window lookup of the first call), the 429, then after the wait the breaker was
    # half-open: a health check went first, then the retry
    assert openai_fake.paths == ["/v1/models", "/v1/chat/completions", "/v1/models",
                                 "/v1/chat/completions"]
    assert cloud.breaker.state is BreakerState.CLOSED


async def test_a_retry_after_beyond_the_cap_is_not_waited_for(
        openai_fake: FakeServer, make: Callable[..., Router]) -> None:
    openai_fake.faults.append(status(429, openai_cloud.RATE_LIMITED, retry_after="3600"))
    with pytest.raises(ProviderError, match="asked to wait 3600 s, more than the 2 s cap") as info:
        await make(openai_deployment(openai_fake)).complete(REQUEST)
    assert info.value.kind == "rate_limit" and len(openai_fake.requests) == 1


@pytest.mark.parametrize(("fault", "kind"), [
    (status(401, {"error": {"message": "Incorrect API key provided", "type":
                            "invalid_request_error", "code": "invalid_api_key"}}), "auth"),
    (status(400, {"error": {"message": "bad", "type": "invalid_request_error"}}),
     "bad_request"),
    (status(429, openai_cloud.NO_QUOTA), "quota"),
])
async def test_auth_bad_request_and_quota_are_never_retried(
        openai_fake: FakeServer, ollama_fake: FakeServer, make: Callable[..., Router],
        fault: Fault, kind: str) -> None:
    openai_fake.faults.append(fault)
    alone = make(openai_deployment(openai_fake))
    with pytest.raises(ProviderError) as info:
        await alone.complete(REQUEST)
    assert info.value.kind == kind and len(openai_fake.requests) == 1
    # with a fallback, the call is served there, still without a retry at the first one
    openai_fake.reset()
    openai_fake.faults.append(fault)
    completion = await make(openai_deployment(openai_fake),
                            ollama_deployment(ollama_fake)).complete(REQUEST)
    assert completion.deployment == "local" and len(openai_fake.requests) == 1


async def test_repeated_failures_open_the_breaker_then_fall_back(
        openai_fake: FakeServer, ollama_fake: FakeServer, make: Callable[..., Router]) -> None:
    openai_fake.faults.extend([status(500)] * 3)
    cloud = openai_deployment(openai_fake)
    ollama_fake.answer = ["local ", "answer"]
    r = make(cloud, ollama_deployment(ollama_fake))
    chunks = await received(r)
    assert texts(chunks) == ["local ", "answer"] and not any(c.kind == "error" for c in chunks)
    assert len(openai_fake.requests) == 3  # 1 try + 2 retries, then the breaker opened
    assert cloud.breaker.state is BreakerState.OPEN and "3 failures" in cloud.breaker.reason


async def test_a_fallback_mid_stream_withdraws_the_partial_answer(
        openai_fake: FakeServer, ollama_fake: FakeServer, make: Callable[..., Router]) -> None:
    openai_fake.faults.extend([Fault("stall", after=3, seconds=5)] * 3)
    ollama_fake.answer = ["from ", "the ", "fallback"]
    record = CallRecord()
    chunks = await received(make(openai_deployment(openai_fake),
                                 ollama_deployment(ollama_fake)), record=record)
    parts = segments(chunks)
    assert [texts(p) for p in parts] == [ANSWER[:2]] * 3 + [["from ", "the ", "fallback"]]
    assert [c.attempt for c in chunks if c.kind == "error"] == [1, 2, 3]
    assert record.fallback and record.attempt == 4 and record.deployment.name == "local"
    assert len(record.failures) == 1 and "idle" in record.failures[0]


async def test_every_deployment_failing_gives_one_clear_error(
        openai_fake: FakeServer, ollama_fake: FakeServer, make: Callable[..., Router]) -> None:
    openai_fake.faults.extend([Fault("hang", seconds=5)] * 3)
    ollama_fake.faults.extend([status(500)] * 3)
    with pytest.raises(ProviderError) as info:
        await make(openai_deployment(openai_fake), ollama_deployment(ollama_fake),
                   ).complete(REQUEST)
    message = str(info.value)
    assert message.startswith("router provider: no deployment could answer (6 attempt(s))")
    assert "cloud: no first token within 0.5 s" in message and "local: HTTP 500" in message


async def test_the_callers_deadline_bounds_retries(
        openai_fake: FakeServer, make: Callable[..., Router]) -> None:
    openai_fake.faults.extend([Fault("hang", seconds=5)] * 3)
    with pytest.raises(ProviderError, match="deadline|first token") as info:
        await make(openai_deployment(openai_fake)).complete(
            CompletionRequest(prompt="x", timeout_s=0.8))
    assert info.value.kind == "timeout" and len(openai_fake.requests) <= 2
