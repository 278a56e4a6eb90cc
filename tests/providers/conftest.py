"""Real servers on loopback for the provider tests: llama.cpp's own OpenAI-compatible server
running the embedded model, and the protocol fakes (one server per module, reset per test)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from podium.providers import Router, packaged_model_path
from podium.providers.deployment import Deployment
from tests.providers.fakes import anthropic_api, gemini_api, ollama, openai_cloud
from tests.providers.fakes.harness import FakeServer, free_port
from tests.providers.routers import router

SERVER_START_TIMEOUT_S = 180


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real llama.cpp OpenAI-compatible server on loopback: yields (base_url, model id)."""
    port = free_port()
    log_path: Path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "llama_cpp.server",
                "--model", str(packaged_model_path()),
                "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama server exited early:\n{log_path.read_text()[-2000:]}")
            try:
                models = httpx.get(f"{base_url}/models", timeout=2).json()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    pytest.fail(f"llama server not up after {SERVER_START_TIMEOUT_S} s")
                time.sleep(0.5)
        yield base_url, models["data"][0]["id"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve(build) -> Iterator[FakeServer]:  # type: ignore[no-untyped-def]
    server = FakeServer(build).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def _openai_cloud() -> Iterator[FakeServer]:
    yield from _serve(openai_cloud.build)


@pytest.fixture(scope="module")
def _ollama() -> Iterator[FakeServer]:
    yield from _serve(ollama.build)


@pytest.fixture(scope="module")
def _anthropic() -> Iterator[FakeServer]:
    yield from _serve(anthropic_api.build)


@pytest.fixture(scope="module")
def _gemini() -> Iterator[FakeServer]:
    yield from _serve(gemini_api.build)


@pytest.fixture
def openai_fake(_openai_cloud: FakeServer) -> FakeServer:
    _openai_cloud.reset()
    return _openai_cloud


@pytest.fixture
def ollama_fake(_ollama: FakeServer) -> FakeServer:
    _ollama.reset()
    return _ollama


@pytest.fixture
def anthropic_fake(_anthropic: FakeServer) -> FakeServer:
    _anthropic.reset()
    return _anthropic


@pytest.fixture
def gemini_fake(_gemini: FakeServer) -> FakeServer:
    _gemini.reset()
    return _gemini


@pytest.fixture
def make() -> Iterator[Callable[..., Router]]:
    """Builds routers over the fakes (see routers.py) and closes them after the test."""
    built: list[Router] = []

    def build(*deployments: Deployment, **options: Any) -> Router:
        built.append(router(*deployments, **options))
        return built[-1]

    yield build
    for r in built:
        r.close()
