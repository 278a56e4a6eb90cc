"""Named presets: where each known kind of server listens by default, which protocol it
speaks, which environment variable holds its key, and whether it runs on this machine.

A provider in the config file names a preset (``preset = "vllm"``) and overrides what differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ConnectorKind = Literal["openai", "ollama", "anthropic", "gemini", "embedded"]


@dataclass(frozen=True)
class Preset:
    name: str
    kind: ConnectorKind
    base_url: str | None
    api_key_env: str | None
    local: bool  # runs on this machine: free, and tried first by local-first chains
    # Chat completions parameter that caps the answer: OpenAI's own API wants the newer name.
    max_tokens_param: str = "max_tokens"


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("openai", "openai", "https://api.openai.com/v1", "OPENAI_API_KEY", local=False,
               max_tokens_param="max_completion_tokens"),
        Preset("xai", "openai", "https://api.x.ai/v1", "XAI_API_KEY", local=False),
        Preset("gemini-openai", "openai", "https://generativelanguage.googleapis.com/v1beta/openai/",
               "GEMINI_API_KEY", local=False),
        Preset("vllm", "openai", "http://127.0.0.1:8000/v1", None, local=True),
        Preset("llamacpp", "openai", "http://127.0.0.1:8080/v1", None, local=True),
        Preset("lmstudio", "openai", "http://127.0.0.1:1234/v1", None, local=True),
        Preset("mlx", "openai", "http://127.0.0.1:8080/v1", None, local=True),
        Preset("ollama", "ollama", "http://127.0.0.1:11434", None, local=True),
        Preset("anthropic", "anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY",
               local=False),
        Preset("gemini", "gemini", "https://generativelanguage.googleapis.com", "GEMINI_API_KEY",
               local=False),
        Preset("embedded", "embedded", None, None, local=True),
    )
}
PRESETS["grok"] = PRESETS["xai"]


def preset(name: str) -> Preset:
    """The preset called ``name``; a ValueError listing the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known presets: "
                         f"{', '.join(sorted(PRESETS))}") from None


def for_kind(kind: ConnectorKind) -> Preset:
    """The defaults of a provider given by ``kind`` alone: any OpenAI-compatible server (no
    URL or key assumed, counted as remote), or the preset of the native protocol."""
    if kind == "openai":
        return Preset("openai", "openai", None, None, local=False)
    return PRESETS[kind]
