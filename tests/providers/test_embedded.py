"""EmbeddedProvider with the real Gemma 3 270M model shipped on PyPI."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.providers import (
    CompletionRequest,
    EmbeddedProvider,
    Provider,
    ProviderError,
    packaged_model_path,
)
from podium.providers.embedded import render_prompt


def test_packaged_model_path_is_the_assembled_gguf() -> None:
    path = packaged_model_path()
    assert path.name == "gemma-3-270m-q4_k_m.gguf"
    assert path.stat().st_size > 100_000_000


def test_render_prompt() -> None:
    request = CompletionRequest(system="Be terse.", prompt="Name a color.\n", prefill="Color:")
    assert render_prompt(request) == "Be terse.\n\nName a color.\nColor:"
    assert render_prompt(CompletionRequest(prompt="Hi")) == "Hi"


async def test_completes_deterministically_at_temperature_zero() -> None:
    provider = EmbeddedProvider()
    assert isinstance(provider, Provider)
    request = CompletionRequest(
        system="You write Python.",
        prompt="Write a function that reverses a string.\n",
        prefill="```python\n",
        max_tokens=64,
    )
    # Known to change `request`'s answer when llama reuses its KV cache between the calls.
    other = CompletionRequest(
        system="Answer with one word.",
        prompt="The capital of France is Paris. The capital of Italy is",
        prefill="Answer:",
        max_tokens=8,
    )
    first = await provider.complete(request)
    assert first.text.startswith("```python\n")
    assert first.text.removeprefix("```python\n").strip()
    assert first.tokens_in > 0 and first.tokens_out > 0
    assert (first.provider, first.model) == ("embedded", "gemma-3-270m-q4_k_m")
    assert first.finish_reason in {"stop", "length"}
    await provider.complete(other)
    for _ in range(2):
        again = await provider.complete(request)
        assert again.text == first.text
        assert (again.tokens_in, again.tokens_out) == (first.tokens_in, first.tokens_out)


async def test_stop_sequence_ends_the_answer() -> None:
    result = await EmbeddedProvider().complete(
        CompletionRequest(prompt="Count: one, two, three, four, five,", max_tokens=32, stop=(",",))
    )
    assert "," not in result.text
    assert result.finish_reason == "stop"


async def test_prompt_longer_than_context_is_refused() -> None:
    request = CompletionRequest(prompt="word " * 5000, max_tokens=4)
    with pytest.raises(ProviderError, match="context window of 4096 tokens"):
        await EmbeddedProvider().complete(request)


async def test_missing_model_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.gguf"
    with pytest.raises(ProviderError, match="model file missing") as info:
        await EmbeddedProvider(model_path=missing).complete(CompletionRequest(prompt="x"))
    assert str(missing) in str(info.value)


async def test_streams_the_finished_answer_and_reports_itself() -> None:
    from podium.providers import StreamAssembler

    provider = EmbeddedProvider()
    request = CompletionRequest(prompt="The capital of France is", prefill=" Paris", max_tokens=6)
    answer = StreamAssembler()
    async for chunk in provider.stream(request):
        answer.add(chunk)
    whole = await provider.complete(request)
    assert answer.text == whole.text and answer.text.startswith(" Paris")
    assert (answer.tokens_in, answer.tokens_out) == (whole.tokens_in, whole.tokens_out)
    assert (await provider.health()).ok
    assert await provider.models() == ["gemma-3-270m-q4_k_m"]
    assert await provider.context_length() == 4096
    missing = EmbeddedProvider(model_path=Path("/nonexistent/model.gguf"))
    assert not (await missing.health()).ok
