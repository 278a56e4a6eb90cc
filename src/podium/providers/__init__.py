"""Model providers behind one small interface: connectors (one per wire protocol), the
router in front of them, and factories to build them from settings or by name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from podium.providers.anthropic_provider import AnthropicProvider
from podium.providers.base import (
    Completion,
    CompletionRequest,
    Connector,
    Health,
    Provider,
    ToolCall,
    ToolSpec,
)
from podium.providers.chunks import Chunk, StreamAssembler
from podium.providers.embedded import EmbeddedProvider, packaged_model_path
from podium.providers.errors import BudgetExceeded, ProviderError
from podium.providers.factory import build_router, provider_for_run
from podium.providers.gemini import GeminiProvider
from podium.providers.ollama import OllamaProvider
from podium.providers.openai_compat import OpenAICompatProvider
from podium.providers.router import CallRecord, Router
from podium.providers.scripted import ScriptedProvider
from podium.providers.settings import ProvidersConfig

__all__ = [
    "PROVIDER_NAMES",
    "AnthropicProvider",
    "BudgetExceeded",
    "CallRecord",
    "Chunk",
    "Completion",
    "CompletionRequest",
    "Connector",
    "EmbeddedProvider",
    "GeminiProvider",
    "Health",
    "OllamaProvider",
    "OpenAICompatProvider",
    "Provider",
    "ProviderError",
    "ProvidersConfig",
    "Router",
    "ScriptedProvider",
    "StreamAssembler",
    "ToolCall",
    "ToolSpec",
    "build_router",
    "create_provider",
    "packaged_model_path",
    "provider_for_run",
]

PROVIDER_NAMES = ("embedded", "openai", "scripted")


def create_provider(
    name: str,
    *,
    model_path: str | Path | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    model: str | None = None,
    script: str | Path | Mapping[str, Sequence[str]] | None = None,
) -> Provider:
    """Build the provider called ``name`` from the options it needs.

    - ``embedded``: optional ``model_path`` (default: the packaged Gemma 3 270M).
    - ``openai``: required ``base_url`` and ``model``; optional ``api_key``.
    - ``scripted``: required ``script``, a JSON file path or a purpose -> responses mapping.

    Raises ``ValueError`` for an unknown name (listing the known ones) or a missing
    required option; :class:`ProviderError` for an unusable script file.
    """
    if name == "embedded":
        return EmbeddedProvider(model_path=Path(model_path) if model_path else None)
    if name == "openai":
        if not base_url or not model:
            missing = [
                opt for opt, value in (("base_url", base_url), ("model", model)) if not value
            ]
            raise ValueError(f"provider 'openai' needs option(s): {', '.join(missing)}")
        return OpenAICompatProvider(base_url=base_url, api_key=api_key, model=model)
    if name == "scripted":
        if script is None:
            raise ValueError("provider 'scripted' needs option: script")
        if isinstance(script, Mapping):
            return ScriptedProvider(script)
        return ScriptedProvider.from_file(script)
    raise ValueError(f"unknown provider {name!r}; known providers: {', '.join(PROVIDER_NAMES)}")
