"""A real Podium server for each test module: uvicorn on a free loopback port, in this process.

The durable engine is one per process, so a module holds at most one server at a time. Before
a server stops, its unfinished tasks are cancelled and given time to stop, so no workflow
outlives it.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
import uvicorn
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from podium.api import build_service, create_app
from podium.api.app import WS_DEFLATE
from podium.config import Settings
from podium.logs import configure_logging
from podium.providers import Provider, ScriptedProvider
from podium.services import TaskService

TASK = "Write a function add(a, b) that returns the sum of two numbers"
RIGHT = "def add(a, b):\n    return a + b\n"
TESTS = "from add import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
SCRIPT = {"plan": ["no plan"], "code": [RIGHT], "fix": [RIGHT]}
FINISHED = ("completed", "failed", "cancelled")
WAIT_S = 120  # a sanity bound on how long a task may take on a loaded machine


def slow_tests(seconds: float) -> str:
    """Tests that pass after ``seconds``: keep a task running while a test looks at it."""
    return (f"import time\n\nfrom add import add\n\n\ndef test_add():\n    time.sleep({seconds})\n"
            "    assert add(2, 3) == 5\n")


@pytest.fixture(scope="package", autouse=True)
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The servers' log, as JSON lines in a file: a server thread outlives each test, while
    pytest swaps and closes the stdout it captures between tests."""
    path = tmp_path_factory.mktemp("logs") / "server.log"
    saved = structlog.get_config()
    with path.open("a") as stream:
        configure_logging(json=True, level="info", stream=stream)
        yield path
    structlog.configure(**saved)
    podium_logger = logging.getLogger("podium")
    podium_logger.handlers.clear()
    podium_logger.propagate = True


@dataclass
class Served:
    url: str
    service: TaskService
    settings: Settings

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def wait_for(self, task_id: str, statuses: tuple[str, ...] = FINISHED) -> dict[str, Any]:
        """Poll the REST API until the task reaches one of ``statuses``."""
        return wait_until(lambda: _state_if(self, task_id, statuses),
                          f"task {task_id} to be {'/'.join(statuses)}")


def _state_if(served: Served, task_id: str, statuses: tuple[str, ...]) -> dict[str, Any] | None:
    state = httpx.get(f"{served.url}/v1/tasks/{task_id}", timeout=30).json()
    return state if state.get("status") in statuses else None


def wait_until(probe: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (result := probe()) is not None and result is not False:
            return result
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what} after {timeout:g} s")


def free_loopback_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serving(home: Path, script: dict[str, list[str]] | None = None,
            provider: Provider | None = None, **overrides: Any) -> Iterator[Served]:
    """A server on loopback until the block ends, over a scripted model unless ``provider``
    is given."""
    options: dict[str, Any] = {"home": home, "queue_poll_s": 0.1, "test_timeout_s": 60,
                               "shutdown_grace_s": 60} | overrides
    settings = Settings(**options)
    service, metrics = build_service(settings, provider or ScriptedProvider(script or SCRIPT))
    app = create_app(service, metrics)
    sock = free_loopback_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                           ws_per_message_deflate=WS_DEFLATE))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "the server to start", timeout=60)
    served = Served(url=f"http://127.0.0.1:{sock.getsockname()[1]}", service=service,
                    settings=settings)
    try:
        yield served
    finally:
        for task_id in service.store.task_ids():
            if not service.is_finished(task_id):
                service.cancel(task_id, reason="the test server is stopping")
        server.should_exit = True
        thread.join(timeout=120)
        sock.close()


@contextmanager
def podium_serve(tmp_path: Path, script: Path, *options: str) -> Iterator[tuple[str,
                                                                               subprocess.Popen]]:
    """`podium serve` as a user runs it, in its own process over a scripted model; its log
    goes to ``tmp_path/serve.log``."""
    sock = free_loopback_socket()
    port = sock.getsockname()[1]
    sock.close()
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "podium", "serve", "--port", str(port), "--provider",
             "scripted", "--script", str(script), "--home", "home", "--log-level", "warning",
             *options], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(url) or proc.poll() is not None, "the server to start")
        assert proc.poll() is None, log.read_text()
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


# --- MCP over streamable HTTP, with the SDK's client ---------------------------------------


@asynccontextmanager
async def http_session(served: Served, key: str | None = None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {key}"} if key else None
    async with create_mcp_http_client(headers=headers) as http, \
            streamable_http_client(f"{served.url}/mcp", http_client=http) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)


async def error_of(session: ClientSession, tool: str, **arguments: Any) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.is_error
    return result.content[0].text
