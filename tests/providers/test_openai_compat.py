"""OpenAICompatProvider against a real llama.cpp server and real failing endpoints."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from podium.providers import (
    CompletionRequest,
    OpenAICompatProvider,
    Provider,
    ProviderError,
)
from tests.providers.fakes.harness import free_port


@pytest.fixture
async def provider(llama_server: tuple[str, str]) -> AsyncIterator[OpenAICompatProvider]:
    base_url, model = llama_server
    provider = OpenAICompatProvider(base_url=base_url, api_key=None, model=model, timeout_s=60)
    yield provider
    await provider.aclose()


async def test_completes_through_a_real_server(provider: OpenAICompatProvider) -> None:
    assert isinstance(provider, Provider)
    result = await provider.complete(
        CompletionRequest(
            system="You are terse.",
            prompt="Say hello.",
            prefill="ignored by chat providers",
            max_tokens=16,
        )
    )
    assert result.provider == "openai"
    assert result.model == provider.model
    assert result.tokens_in > 0
    assert 0 < result.tokens_out <= 16
    assert result.finish_reason in {"stop", "length"}
    assert result.latency_s > 0


async def test_unreachable_url_fails_fast_and_names_it() -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    provider = OpenAICompatProvider(base_url=base_url, api_key=None, model="m")
    started = time.monotonic()
    with pytest.raises(ProviderError, match="unreachable") as info:
        await provider.complete(CompletionRequest(prompt="hi"))
    await provider.aclose()
    assert time.monotonic() - started < 5
    assert base_url in str(info.value)
    assert str(info.value).startswith("openai provider:")


class _FailingHandler(http.server.BaseHTTPRequestHandler):
    """Answers every POST with HTTP 500 and a JSON error body."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"error": {"message": "model exploded", "type": "server_error"}})
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def failing_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FailingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()
    thread.join()


async def test_http_error_status_gives_status_and_body(failing_server: str) -> None:
    provider = OpenAICompatProvider(base_url=failing_server, api_key="k", model="m")
    with pytest.raises(ProviderError, match="HTTP 500") as info:
        await provider.complete(CompletionRequest(prompt="hi"))
    await provider.aclose()
    assert "model exploded" in str(info.value)
    assert failing_server in str(info.value)
