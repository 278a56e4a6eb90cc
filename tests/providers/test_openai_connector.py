"""The OpenAI connector: streaming against llama.cpp's real server, and OpenAI-cloud
behaviours (usage chunk with empty or null choices, tool-call fragments, an error object
inside an HTTP 200 stream, 429 with Retry-After, quota) against the protocol fake."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from podium.providers import (
    Chunk,
    CompletionRequest,
    OpenAICompatProvider,
    ProviderError,
    StreamAssembler,
    ToolSpec,
)
from podium.providers.presets import PRESETS
from tests.providers.fakes import openai_cloud
from tests.providers.fakes.harness import TEXT, FakeServer, Fault, status

ADD = ToolSpec(name="add", description="Add two numbers",
               parameters={"type": "object", "properties": {"a": {"type": "number"},
                                                           "b": {"type": "number"}}})


async def collect(stream: AsyncIterator[Chunk]) -> tuple[list[Chunk], StreamAssembler]:
    chunks, answer = [], StreamAssembler()
    async for chunk in stream:
        chunks.append(chunk)
        answer.add(chunk)
    return chunks, answer


@pytest.fixture
async def cloud(openai_fake: FakeServer) -> AsyncIterator[OpenAICompatProvider]:
    connector = OpenAICompatProvider(f"{openai_fake.url}/v1", "sk-test", "gpt-4o",
                                     timeout_s=10, name="openai")
    yield connector
    await connector.aclose()


async def test_streams_from_the_real_llama_server(llama_server: tuple[str, str]) -> None:
    base_url, model = llama_server
    connector = OpenAICompatProvider(base_url, None, model, timeout_s=60, name="llamacpp")
    try:
        request = CompletionRequest(prompt="Count: one, two, three,", max_tokens=12)
        chunks, answer = await collect(connector.stream(request))
        whole = await connector.complete(request)
        assert [c.kind for c in chunks].count("finish") == 1
        assert answer.text == whole.text  # temperature 0: the same answer either way
        assert answer.finish_reason in {"stop", "length"}
        assert await connector.models() == [model]
        assert (await connector.health()).ok
        assert await connector.context_length() is None  # llama.cpp's server does not say
    finally:
        await connector.aclose()


async def test_usage_arrives_in_a_last_chunk_with_empty_or_null_choices(
        openai_fake: FakeServer, cloud: OpenAICompatProvider) -> None:
    for null in (False, True):
        openai_fake.options["null_choices"] = null
        chunks, answer = await collect(cloud.stream(CompletionRequest(prompt="add two numbers")))
        assert answer.text == TEXT
        assert chunks[-1] == Chunk.usage(3, len(openai_fake.answer))
        assert [c.kind for c in chunks] == ["text"] * 4 + ["finish", "usage"]
    assert openai_fake.requests[-1]["stream_options"] == {"include_usage": True}


async def test_tool_call_fragments_are_joined_per_index(cloud: OpenAICompatProvider) -> None:
    request = CompletionRequest(prompt="add 2 and 3", tools=(ADD,))
    chunks, answer = await collect(cloud.stream(request))
    assert len([c for c in chunks if c.kind == "tool_call"]) == 4  # the name, then 3 fragments
    assert answer.tool_calls() == [("call_1", "add", "".join(openai_cloud.TOOL_ARGUMENTS))]
    assert json.loads(answer.tool_calls()[0][2]) == {"a": 2, "b": 3}
    assert answer.finish_reason == "tool_calls"
    whole = await cloud.complete(request)
    assert [(c.name, json.loads(c.arguments)) for c in whole.tool_calls] == [
        ("add", {"a": 2, "b": 3})]


async def test_an_error_object_inside_a_200_stream_is_raised(
        openai_fake: FakeServer, cloud: OpenAICompatProvider) -> None:
    openai_fake.faults.append(Fault("error", after=3))
    received: list[Chunk] = []
    with pytest.raises(ProviderError, match="error inside the stream") as info:
        async for chunk in cloud.stream(CompletionRequest(prompt="hi")):
            received.append(chunk)
    assert info.value.kind == "server" and info.value.retryable
    assert "".join(c.text for c in received) == "".join(openai_fake.answer[:2])


@pytest.mark.parametrize(("headers", "wait"), [
    ({"retry_after_ms": "1500"}, 1.5),
    ({"retry_after": "7"}, 7.0),
    ({"retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past
])
async def test_429_carries_the_servers_retry_after(
        openai_fake: FakeServer, cloud: OpenAICompatProvider, headers: dict[str, str],
        wait: float) -> None:
    openai_fake.faults.append(status(429, openai_cloud.RATE_LIMITED, **headers))
    with pytest.raises(ProviderError, match="HTTP 429") as info:
        await cloud.complete(CompletionRequest(prompt="hi"))
    assert (info.value.kind, info.value.status, info.value.retry_after_s) == (
        "rate_limit", 429, wait)


async def test_quota_and_auth_errors_are_not_retryable(
        openai_fake: FakeServer, cloud: OpenAICompatProvider) -> None:
    openai_fake.faults.extend([status(429, openai_cloud.NO_QUOTA),
                               status(401, {"error": {"message": "Incorrect API key",
                                                      "type": "invalid_request_error",
                                                      "code": "invalid_api_key"}})])
    for kind in ("quota", "auth"):
        with pytest.raises(ProviderError) as info:
            async for _ in cloud.stream(CompletionRequest(prompt="hi")):
                pass
        assert info.value.kind == kind and not info.value.retryable


async def test_a_malformed_event_is_a_protocol_error(
        openai_fake: FakeServer, cloud: OpenAICompatProvider) -> None:
    openai_fake.faults.append(Fault("malformed", after=2))
    with pytest.raises(ProviderError, match="malformed") as info:
        async for _ in cloud.stream(CompletionRequest(prompt="hi")):
            pass
    assert info.value.kind == "protocol"


async def test_a_stream_cut_before_its_finish_is_an_error(
        openai_fake: FakeServer, cloud: OpenAICompatProvider) -> None:
    openai_fake.faults.append(Fault("cut", after=3))
    with pytest.raises(ProviderError, match="ended before a finish_reason"):
        async for _ in cloud.stream(CompletionRequest(prompt="hi")):
            pass


async def test_models_context_window_and_embeddings(openai_fake: FakeServer) -> None:
    openai_fake.options["models"] = [{"id": "served", "object": "model", "created": 0,
                                      "owned_by": "vllm", "max_model_len": 8192}]
    connector = OpenAICompatProvider(f"{openai_fake.url}/v1", None, "served")
    try:
        assert await connector.models() == ["served"]
        assert await connector.context_length() == 8192
        assert await connector.embed(["ab", "abcd"]) == [[2.0, 1.0], [4.0, 1.0]]
        configured = OpenAICompatProvider(f"{openai_fake.url}/v1", None, "served",
                                          context_window=4096)
        assert await configured.context_length() == 4096
        await configured.aclose()
    finally:
        await connector.aclose()


async def test_the_model_list_is_cached(openai_fake: FakeServer) -> None:
    connector = OpenAICompatProvider(f"{openai_fake.url}/v1", None, "gpt-4o", models_ttl_s=60)
    try:
        for _ in range(3):
            assert await connector.models() == ["gpt-4o"]
        assert openai_fake.paths.count("/v1/models") == 1
        await connector.health()  # a health check always asks
        assert openai_fake.paths.count("/v1/models") == 2
    finally:
        await connector.aclose()


def test_presets_cover_the_known_servers() -> None:
    for name in ("openai", "xai", "grok", "gemini-openai", "vllm", "llamacpp", "lmstudio", "mlx"):
        assert PRESETS[name].kind == "openai" and PRESETS[name].base_url
    assert PRESETS["openai"].max_tokens_param == "max_completion_tokens"
    assert PRESETS["xai"].api_key_env == "XAI_API_KEY"
    assert all(PRESETS[n].local for n in ("vllm", "llamacpp", "lmstudio", "mlx", "ollama"))
