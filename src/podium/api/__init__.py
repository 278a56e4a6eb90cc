"""The network interfaces: REST, WebSocket and SSE streams, MCP, with keys, limits, metrics.

Exports load on first use (PEP 562), so `podium keys` and the other commands can use
``podium.api.keys`` without importing the web stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podium.api.app import build_service, create_app
    from podium.api.keys import KeyStore
    from podium.api.mcp_tools import build_mcp

_EXPORTS = {"build_service": "podium.api.app", "create_app": "podium.api.app",
            "KeyStore": "podium.api.keys", "build_mcp": "podium.api.mcp_tools"}

__all__ = ["KeyStore", "build_mcp", "build_service", "create_app"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'podium.api' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
