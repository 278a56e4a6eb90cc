"""The Ollama connector against the protocol fake of Ollama's native API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from podium.providers import CompletionRequest, OllamaProvider, ProviderError, ToolSpec
from podium.providers.chunks import StreamAssembler
from tests.providers.fakes.harness import TEXT, FakeServer, Fault, free_port, status


@pytest.fixture
async def qwen(ollama_fake: FakeServer) -> AsyncIterator[OllamaProvider]:
    connector = OllamaProvider("qwen2.5-coder:7b", ollama_fake.url, timeout_s=10)
    yield connector
    await connector.aclose()


async def text_of(connector: OllamaProvider, request: CompletionRequest) -> StreamAssembler:
    answer = StreamAssembler()
    async for chunk in connector.stream(request):
        answer.add(chunk)
    return answer


async def test_chat_streams_ndjson_and_reads_the_done_line(
        ollama_fake: FakeServer, qwen: OllamaProvider) -> None:
    answer = await text_of(qwen, CompletionRequest(system="Be terse.", prompt="add a and b"))
    assert answer.text == TEXT
    assert (answer.tokens_in, answer.tokens_out, answer.finish_reason) == (6, 4, "stop")
    sent = ollama_fake.requests[-1]
    assert ollama_fake.paths[-1] == "/api/chat"
    assert sent["messages"][0] == {"role": "system", "content": "Be terse."}
    assert sent["stream"] is True


async def test_num_ctx_is_always_set_from_the_prompt(
        ollama_fake: FakeServer, qwen: OllamaProvider) -> None:
    await qwen.complete(CompletionRequest(prompt="short", max_tokens=100))
    assert ollama_fake.requests[-1]["options"]["num_ctx"] == 2048
    await qwen.complete(CompletionRequest(prompt="word " * 6000, max_tokens=500))
    num_ctx = ollama_fake.requests[-1]["options"]["num_ctx"]
    assert num_ctx >= qwen.estimate_tokens("word " * 6000) + 500 and num_ctx % 1024 == 0
    assert ollama_fake.requests[-1]["options"]["num_predict"] == 500


async def test_a_prompt_larger_than_the_window_is_refused_before_sending(
        ollama_fake: FakeServer) -> None:
    tiny = OllamaProvider("tiny:1b", ollama_fake.url)
    try:
        assert await tiny.context_length() == 2048
        with pytest.raises(ProviderError, match="2048-token window") as info:
            await tiny.complete(CompletionRequest(prompt="word " * 3000))
        assert info.value.kind == "context_length"
        assert "/api/chat" not in ollama_fake.paths
    finally:
        await tiny.aclose()


async def test_completion_style_uses_generate_and_returns_the_prefill(
        ollama_fake: FakeServer) -> None:
    base = OllamaProvider("qwen2.5-coder:7b", ollama_fake.url, style="completion")
    try:
        request = CompletionRequest(system="S", prompt="P\n", prefill="def ")
        streamed = await text_of(base, request)
        whole = await base.complete(request)
        assert streamed.text == whole.text == "def " + TEXT
        sent = ollama_fake.requests[-1]
        assert ollama_fake.paths[-1] == "/api/generate"
        assert sent["raw"] is True and sent["prompt"] == "S\n\nP\ndef "
    finally:
        await base.aclose()


async def test_tool_calls(qwen: OllamaProvider) -> None:
    add = ToolSpec(name="add", parameters={"type": "object"})
    whole = await qwen.complete(CompletionRequest(prompt="add 2 and 3", tools=(add,)))
    streamed = await text_of(qwen, CompletionRequest(prompt="add 2 and 3", tools=(add,)))
    assert [(c.name, json.loads(c.arguments)) for c in whole.tool_calls] == [
        ("add", {"a": 2, "b": 3})]
    assert [(n, json.loads(a)) for _, n, a in streamed.tool_calls()] == [
        ("add", {"a": 2, "b": 3})]


@pytest.mark.parametrize(("fault", "kind", "message"), [
    (Fault("error", after=2), "server", "error was encountered while running"),
    (Fault("malformed", after=1), "protocol", "malformed line"),
    (Fault("cut", after=2), "protocol", "ended before its done line"),
    (Fault("reset", after=2), "connection", "connection lost"),
    (status(500), "server", "HTTP 500"),
])
async def test_stream_faults(ollama_fake: FakeServer, qwen: OllamaProvider, fault: Fault,
                             kind: str, message: str) -> None:
    ollama_fake.faults.append(fault)
    with pytest.raises(ProviderError, match=message) as info:
        await text_of(qwen, CompletionRequest(prompt="hi"))
    assert info.value.kind == kind


async def test_models_show_and_embeddings(qwen: OllamaProvider) -> None:
    assert await qwen.models() == ["qwen2.5-coder:7b", "tiny:1b"]
    assert await qwen.context_length() == 32768
    assert await qwen.capabilities() == ["completion", "tools"]
    assert await qwen.embed(["abc", "a"]) == [[3.0, 0.5], [1.0, 0.5]]
    assert (await qwen.health()).ok
    with pytest.raises(ProviderError, match="HTTP 404.*not found") as info:
        await qwen.show("nope")
    assert info.value.kind == "bad_request"


async def test_pull_delete_copy(qwen: OllamaProvider) -> None:
    progress = [line async for line in qwen.pull("llama3.2:1b")]
    assert progress[-1] == {"status": "success"}
    assert [p["completed"] for p in progress if "completed" in p] == [0, 50, 100]
    await qwen.copy("llama3.2:1b", "mine:latest")
    assert "mine:latest" in await qwen.models()  # copying drops the cached list
    await qwen.delete("mine:latest")
    assert "mine:latest" not in await qwen.models()
    with pytest.raises(ProviderError, match="not found"):
        await qwen.delete("mine:latest")
    with pytest.raises(ProviderError, match="pull of 'missing:1b' failed"):
        async for _ in qwen.pull("missing:1b"):
            pass


async def test_unreachable_server() -> None:
    gone = OllamaProvider("m", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderError, match="unreachable") as info:
        await gone.models()
    assert info.value.kind == "connection"
    assert not (await gone.health()).ok
    await gone.aclose()
