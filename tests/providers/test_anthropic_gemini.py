"""The Anthropic (official SDK) and Gemini (native REST) connectors against their protocol
fakes: streams, tool calls, in-stream errors, rate limits, overloads and quotas."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from podium.providers import (
    AnthropicProvider,
    CompletionRequest,
    GeminiProvider,
    ProviderError,
    StreamAssembler,
    ToolSpec,
)
from podium.providers.gemini import classify
from tests.providers.fakes import anthropic_api, gemini_api
from tests.providers.fakes.harness import TEXT, FakeServer, Fault, status

ADD = ToolSpec(name="add", parameters={"type": "object"})


async def streamed(connector: AnthropicProvider | GeminiProvider,
                   request: CompletionRequest) -> StreamAssembler:
    answer = StreamAssembler()
    async for chunk in connector.stream(request):
        answer.add(chunk)
    return answer


@pytest.fixture
async def claude(anthropic_fake: FakeServer) -> AsyncIterator[AnthropicProvider]:
    connector = AnthropicProvider(anthropic_api.MODEL, "sk-ant-test", anthropic_fake.url,
                                  timeout_s=10)
    yield connector
    await connector.aclose()


@pytest.fixture
async def gemini(gemini_fake: FakeServer) -> AsyncIterator[GeminiProvider]:
    connector = GeminiProvider(gemini_api.MODEL, "g-test", gemini_fake.url, timeout_s=10)
    yield connector
    await connector.aclose()


# --- Anthropic ----------------------------------------------------------------------------


async def test_anthropic_stream_reads_every_message_event(
        anthropic_fake: FakeServer, claude: AnthropicProvider) -> None:
    request = CompletionRequest(system="Be terse.", prompt="add two numbers", stop=("\n\n",))
    answer = await streamed(claude, request)
    whole = await claude.complete(request)
    assert answer.text == whole.text == TEXT
    # input tokens from message_start, output tokens from message_delta (cumulative)
    assert (answer.tokens_in, answer.tokens_out) == (3, 4) == (whole.tokens_in, whole.tokens_out)
    assert answer.finish_reason == whole.finish_reason == "stop"  # end_turn
    sent = anthropic_fake.requests[-1]
    assert sent["system"] == "Be terse." and sent["stop_sequences"] == ["\n\n"]


async def test_anthropic_tool_use_json_fragments(claude: AnthropicProvider) -> None:
    answer = await streamed(claude, CompletionRequest(prompt="add", tools=(ADD,)))
    assert [(i, n, json.loads(a)) for i, n, a in answer.tool_calls()] == [
        ("toolu_1", "add", {"a": 2, "b": 3})]
    assert answer.finish_reason == "tool_calls"


@pytest.mark.parametrize(("fault", "kind", "wait"), [
    (status(429, anthropic_api.error_body("rate_limit_error", "slow down"), retry_after="3"),
     "rate_limit", 3.0),
    (status(529, anthropic_api.error_body("overloaded_error", "Overloaded")), "overloaded", None),
    (status(400, anthropic_api.error_body("invalid_request_error", "bad")), "bad_request", None),
    (Fault("error", after=3), "overloaded", None),  # an `error` event inside the 200 stream
    (Fault("reset", after=3), "connection", None),
    (Fault("cut", after=3), "protocol", None),
])
async def test_anthropic_failures(anthropic_fake: FakeServer, claude: AnthropicProvider,
                                  fault: Fault, kind: str, wait: float | None) -> None:
    anthropic_fake.faults.append(fault)
    with pytest.raises(ProviderError) as info:
        await streamed(claude, CompletionRequest(prompt="hi"))
    assert (info.value.kind, info.value.retry_after_s) == (kind, wait)


async def test_anthropic_models_and_window(claude: AnthropicProvider) -> None:
    assert await claude.models() == [anthropic_api.MODEL]
    assert await claude.context_length() == 200_000
    with pytest.raises(ProviderError, match="no embeddings"):
        await claude.embed(["x"])


async def test_anthropic_refuses_a_missing_key(anthropic_fake: FakeServer) -> None:
    keyless = AnthropicProvider(anthropic_api.MODEL, "", anthropic_fake.url)
    with pytest.raises(ProviderError) as info:
        await keyless.complete(CompletionRequest(prompt="hi"))
    assert info.value.kind == "auth"
    await keyless.aclose()


# --- Gemini -------------------------------------------------------------------------------


async def test_gemini_streams_sse_and_completes(gemini_fake: FakeServer,
                                                gemini: GeminiProvider) -> None:
    request = CompletionRequest(system="Be terse.", prompt="add two numbers", max_tokens=64)
    answer = await streamed(gemini, request)
    whole = await gemini.complete(request)
    assert answer.text == whole.text == TEXT
    assert (answer.tokens_in, answer.tokens_out, answer.finish_reason) == (3, 4, "stop")
    sent = gemini_fake.requests[-1]
    assert sent["systemInstruction"] == {"parts": [{"text": "Be terse."}]}
    assert sent["generationConfig"]["maxOutputTokens"] == 64
    assert "/v1beta/models/gemini-2.5-flash:streamGenerateContent" in gemini_fake.paths


async def test_gemini_function_calls(gemini: GeminiProvider) -> None:
    answer = await streamed(gemini, CompletionRequest(prompt="add", tools=(ADD,)))
    assert [(n, json.loads(a)) for _, n, a in answer.tool_calls()] == [("add", {"a": 2, "b": 3})]


@pytest.mark.parametrize(("body", "kind", "wait"), [
    (gemini_api.resource_exhausted("10", retry_delay="2s"), "rate_limit", 2.0),
    (gemini_api.resource_exhausted("0"), "quota", 2.0),  # quota zero: never retried
    (gemini_api.resource_exhausted(
        "1500", quota_id="GenerateRequestsPerDayPerProjectPerModel"), "quota", 2.0),
    ({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                "message": "Resource has been exhausted (e.g. check quota)."}}, "rate_limit",
     None),
])
async def test_gemini_resource_exhausted(gemini_fake: FakeServer, gemini: GeminiProvider,
                                         body: dict, kind: str, wait: float | None) -> None:
    gemini_fake.faults.append(status(429, body))
    with pytest.raises(ProviderError, match="HTTP 429") as info:
        await streamed(gemini, CompletionRequest(prompt="hi"))
    assert (info.value.kind, info.value.retry_after_s) == (kind, wait)
    assert info.value.retryable == (kind == "rate_limit")


def test_gemini_classify_reads_retry_after_when_no_retry_info() -> None:
    assert classify(429, {"error": {"status": "RESOURCE_EXHAUSTED"}}, {"Retry-After": "4"}) == (
        "rate_limit", 4.0)
    assert classify(503, {"error": {"status": "UNAVAILABLE"}}, None) == ("server", None)
    assert classify(403, {"error": {"status": "PERMISSION_DENIED"}}, None) == ("auth", None)


@pytest.mark.parametrize(("fault", "kind"), [
    (Fault("error", after=2), "server"),
    (Fault("malformed", after=1), "protocol"),
    (Fault("cut", after=2), "protocol"),
    (Fault("reset", after=2), "connection"),
])
async def test_gemini_stream_faults(gemini_fake: FakeServer, gemini: GeminiProvider,
                                    fault: Fault, kind: str) -> None:
    gemini_fake.faults.append(fault)
    with pytest.raises(ProviderError) as info:
        await streamed(gemini, CompletionRequest(prompt="hi"))
    assert info.value.kind == kind


async def test_gemini_models_window_embeddings_and_key(gemini_fake: FakeServer,
                                                       gemini: GeminiProvider) -> None:
    assert gemini_api.MODEL in await gemini.models()
    assert await gemini.context_length() == 1_048_576
    assert await gemini.embed(["abcd"], model="text-embedding-004") == [[4.0, 0.25]]
    keyless = GeminiProvider(gemini_api.MODEL, None, gemini_fake.url)
    with pytest.raises(ProviderError, match="HTTP 403") as info:
        await keyless.complete(CompletionRequest(prompt="hi"))
    assert info.value.kind == "auth"
    await keyless.aclose()
