"""ScriptedProvider: per-purpose ordering, repetition, the "*" default and file loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podium.providers import CompletionRequest, Provider, ProviderError, ScriptedProvider


def request(purpose: str, prompt: str = "do the thing") -> CompletionRequest:
    return CompletionRequest(prompt=prompt, purpose=purpose)


async def texts(provider: ScriptedProvider, purpose: str, count: int) -> list[str]:
    return [(await provider.complete(request(purpose))).text for _ in range(count)]


async def test_responses_in_order_per_purpose_and_last_repeats() -> None:
    provider = ScriptedProvider({"plan": ["p1", "p2"], "code": ["c1"]})
    assert await texts(provider, "plan", 1) == ["p1"]
    assert await texts(provider, "code", 2) == ["c1", "c1"]
    assert await texts(provider, "plan", 3) == ["p2", "p2", "p2"]


async def test_star_is_the_default_for_unscripted_purposes() -> None:
    provider = ScriptedProvider({"plan": ["p1"], "*": ["d1", "d2"]})
    assert await texts(provider, "fix", 1) == ["d1"]
    assert await texts(provider, "plan", 1) == ["p1"]
    assert await texts(provider, "tests", 2) == ["d2", "d2"]


async def test_missing_purpose_names_it() -> None:
    provider = ScriptedProvider({"plan": ["p1"], "code": []})
    with pytest.raises(ProviderError, match="'code'") as info:
        await provider.complete(request("code"))
    assert info.value.provider == "scripted"
    assert str(info.value).startswith("scripted provider:")


async def test_completion_fields() -> None:
    provider = ScriptedProvider({"*": ["two words"]})
    assert isinstance(provider, Provider)
    result = await provider.complete(
        CompletionRequest(system="be brief", prompt="one two three", purpose="any")
    )
    assert result.text == "two words"
    assert (result.provider, result.model, result.finish_reason) == (
        "scripted",
        "scripted",
        "stop",
    )
    assert (result.tokens_in, result.tokens_out) == (5, 2)
    assert result.latency_s >= 0


def test_rejects_a_bare_string_as_responses() -> None:
    with pytest.raises(ValueError, match="'plan'"):
        ScriptedProvider({"plan": "not a list"})


async def test_from_file(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"plan": ["p1"], "*": ["d1"]}), encoding="utf-8")
    provider = ScriptedProvider.from_file(path)
    assert await texts(provider, "plan", 1) == ["p1"]
    assert await texts(provider, "code", 1) == ["d1"]


def test_from_file_missing(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ProviderError, match="not found") as info:
        ScriptedProvider.from_file(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a", "b"]', "JSON object"),
        ('{"plan": "a"}', "'plan'"),
        ('{"plan": ["a", 3]}', "'plan'"),
    ],
)
def test_from_file_bad_content(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "script.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ProviderError, match=message):
        ScriptedProvider.from_file(path)
