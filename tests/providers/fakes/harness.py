"""A real HTTP server on loopback for the provider fakes, with fault injection.

Each fake is a Starlette app under uvicorn in a thread. Tests queue faults; each completion
request takes the next one (health and model-list requests take none). The faults are what
real providers do to clients: an error status (500, 429 with Retry-After, 529...), a hang
before the first byte, a stall mid-stream, a malformed line, an error object mid-stream, a
TCP reset, or a body that just stops.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

ANSWER = ["def add", "(a, b):\n", "    return", " a + b\n"]
TEXT = "".join(ANSWER)


@dataclass
class Fault:
    """What to do to one completion request. ``after`` is the number of chunks sent first."""

    kind: str  # status, hang, stall, malformed, error, reset, cut
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    after: int = 0
    seconds: float = 30.0


def status(code: int, body: Any = None, **headers: str) -> Fault:
    return Fault("status", status=code, body=body,
                 headers={k.replace("_", "-"): v for k, v in headers.items()})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeServer:
    """Serves ``app`` on 127.0.0.1 on a free port until ``stop``."""

    def __init__(self, build: Callable[[FakeServer], Starlette]) -> None:
        """``build`` makes the app; it may set ``defaults`` (the fake's settings)."""
        self.faults: deque[Fault] = deque()
        self.answer: list[str] = list(ANSWER)  # the pieces every completion streams
        self.defaults: dict[str, Any] = {}  # a fake's settings, restored by reset()
        self.options: dict[str, Any] = {}
        self.requests: list[dict[str, Any]] = []  # completion request bodies, in order
        self.paths: list[str] = []  # every request's path, in order
        self._server = uvicorn.Server(uvicorn.Config(
            build(self), host="127.0.0.1", port=0, log_level="critical", lifespan="off",
            timeout_graceful_shutdown=1))
        self.reset()
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> FakeServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def reset(self) -> None:
        self.faults.clear()
        self.requests.clear()
        self.paths.clear()
        self.answer = list(ANSWER)
        self.options = {k: (v.copy() if hasattr(v, "copy") else v)
                        for k, v in self.defaults.items()}

    def next_fault(self, body: dict[str, Any]) -> Fault | None:
        self.requests.append(body)
        return self.faults.popleft() if self.faults else None

    def abort(self, request: Request) -> None:
        """Reset the request's TCP connection (SO_LINGER 0, then abort: the peer gets RST)."""
        for protocol in list(self._server.server_state.connections):
            if protocol.client == request.scope["client"]:
                transport = protocol.transport
                sock: socket.socket = transport.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
                return
        raise RuntimeError("connection to reset not found")


async def early_response(fault: Fault | None, error_body: Any) -> Response | None:
    """Apply the faults that strike before the first byte: a hang, or an error status (with
    ``error_body`` unless the fault brings its own)."""
    if fault is None:
        return None
    if fault.kind == "hang":
        await asyncio.sleep(fault.seconds)
    if fault.kind == "status":
        return JSONResponse(fault.body if fault.body is not None else error_body,
                            status_code=fault.status, headers=fault.headers)
    return None


def stream(server: FakeServer, request: Request, pieces: list[bytes], fault: Fault | None,
           *, error: bytes, malformed: bytes = b"data: {not json\n\n",
           media_type: str = "text/event-stream") -> StreamingResponse:
    """A streamed body of ``pieces`` (already framed), with ``fault`` applied after
    ``fault.after`` of them: ``error`` is the protocol's own error frame."""

    async def body() -> AsyncIterator[bytes]:
        for index, piece in enumerate(pieces):
            if fault is not None and index == fault.after:
                if fault.kind == "stall":
                    await asyncio.sleep(fault.seconds)
                elif fault.kind == "malformed":
                    yield malformed
                    return
                elif fault.kind == "error":
                    yield error
                    return
                elif fault.kind == "reset":
                    await asyncio.sleep(0.05)  # let the chunks already sent reach the client
                    server.abort(request)
                    return
                elif fault.kind == "cut":
                    return
            yield piece
            await asyncio.sleep(0)

    return StreamingResponse(body(), media_type=media_type)
