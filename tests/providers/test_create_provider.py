"""create_provider: building by name and its errors; request validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from podium.providers import (
    CompletionRequest,
    EmbeddedProvider,
    OpenAICompatProvider,
    ProviderError,
    ScriptedProvider,
    create_provider,
)


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(ValueError, match="unknown provider 'gpt'") as info:
        create_provider("gpt")
    for name in ("embedded", "openai", "scripted"):
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("options", "missing"),
    [
        ({}, "base_url, model"),
        ({"base_url": "http://127.0.0.1:1/v1"}, "model"),
        ({"model": "m"}, "base_url"),
    ],
)
def test_openai_requires_base_url_and_model(options: dict[str, str], missing: str) -> None:
    with pytest.raises(ValueError, match=f"needs option\\(s\\): {missing}$"):
        create_provider("openai", **options)


def test_scripted_requires_script() -> None:
    with pytest.raises(ValueError, match="needs option: script"):
        create_provider("scripted")


def test_scripted_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="not found"):
        create_provider("scripted", script=tmp_path / "missing.json")


async def test_builds_each_provider(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"*": ["ok"]}), encoding="utf-8")
    assert isinstance(create_provider("embedded"), EmbeddedProvider)
    openai_provider = create_provider("openai", base_url="http://127.0.0.1:1/v1", model="m")
    assert isinstance(openai_provider, OpenAICompatProvider)
    assert openai_provider.model == "m"
    await openai_provider.aclose()
    from_file = create_provider("scripted", script=script)
    from_mapping = create_provider("scripted", script={"*": ["ok"]})
    for provider in (from_file, from_mapping):
        assert isinstance(provider, ScriptedProvider)
        assert (await provider.complete(CompletionRequest(prompt="x"))).text == "ok"


@pytest.mark.parametrize(
    "fields",
    [{"prompt": ""}, {"prompt": "x", "max_tokens": 0}, {"prompt": "x", "temperature": 2.5}],
)
def test_request_validation(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CompletionRequest(**fields)  # type: ignore[arg-type]
