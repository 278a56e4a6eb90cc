"""The network interfaces: REST, WebSocket and SSE streams, MCP, with keys, limits, metrics."""

from podium.api.app import build_service, create_app
from podium.api.keys import KeyStore
from podium.api.mcp_tools import build_mcp

__all__ = ["KeyStore", "build_mcp", "build_service", "create_app"]
