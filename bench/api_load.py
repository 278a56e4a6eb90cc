"""REST load benchmark: task status reads and task submissions, against a baseline in the same run.

    python bench/api_load.py                  # 5,000 requests (or 15 s) per scenario
    python bench/api_load.py --requests 2000 --concurrency 16

Each scenario runs a server in its own process (uvicorn with httptools and uvloop, access log
off, the server's own log at warning) on a free loopback port, and this process drives it with
``--concurrency`` keep-alive connections, each sending its next request as soon as the previous
one is answered. The client is a minimal HTTP/1.1 one on asyncio streams (uvloop): a general
client such as httpx costs more CPU per request than the server, and on two cores it would
measure itself. Reported: requests/s, p50 and p99 latency.

1. baseline: a bare FastAPI app whose one endpoint returns a constant, on the same uvicorn
   settings, driven by the same client: what the machine, uvicorn and the client cost.
2. status reads: ``GET /v1/tasks/{id}`` of a completed task (its state projected from its log
   on every request), on a Podium server with the scripted model.
3. submissions: ``POST /v1/tasks`` (the task recorded and queued) on a Podium server whose queue
   polls once a minute, so no submitted task starts while it is measured.

Every run is bounded by ``--requests`` and ``--seconds``. Servers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvloop

TASK = "Write a function add(a, b) that returns the sum of two numbers"
RIGHT = "def add(a, b):\n    return a + b\n"
TESTS = "from add import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


# --- servers (each runs in its own process: `api_load.py serve KIND PORT HOME`) -------------


def serve(kind: str, port: int, home: str) -> None:
    import uvicorn

    if kind == "bare":
        from fastapi import FastAPI

        app = FastAPI()

        @app.get("/constant")
        async def constant() -> dict[str, str]:
            return {"status": "ok"}
    else:
        from podium.api import build_service, create_app
        from podium.config import Settings
        from podium.logs import configure_logging
        from podium.providers import ScriptedProvider

        configure_logging(level="warning")
        settings = Settings(home=Path(home), queue_poll_s=60 if kind == "submit" else 0.2,
                            queue_max_waiting=1_000_000, shutdown_grace_s=0)
        service, metrics = build_service(settings, ScriptedProvider(
            {"plan": ["x"], "code": [RIGHT], "fix": [RIGHT]}))
        app = create_app(service, metrics)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                http="httptools", loop="uvloop")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, kind: str, home: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, __file__, "serve", kind, str(self.port),
                                      home], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"the {kind} server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --- the load ---------------------------------------------------------------------------------


def http_request(method: str, path: str, body: dict[str, Any] | None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n")
    return head.encode() + payload


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   request: bytes) -> int:
    """Send one request on a kept-alive connection; read the whole answer; its status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    await reader.readexactly(int(length[1]) if length else 0)
    return int(head[9:12])


async def drive(port: int, method: str, path: str, body: dict[str, Any] | None, *,
                requests: int, seconds: float, concurrency: int) -> dict[str, float]:
    request = http_request(method, path, body)
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await exchange(reader, writer, request)  # warm the connection and the caches
        await start.wait()
        while len(latencies) + failures < requests and time.monotonic() < deadline:
            began = time.perf_counter()
            status = await exchange(reader, writer, request)
            if status < 300:
                latencies.append(time.perf_counter() - began)
            else:
                failures += 1
        writer.close()

    start = asyncio.Event()
    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    await asyncio.sleep(0.5)  # every connection is open and warm
    started = time.perf_counter()
    start.set()
    await asyncio.gather(*workers)
    wall = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "failures": failures, "rps": len(latencies) / wall,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))]}


def run_task(url: str) -> str:
    task_id = httpx.post(f"{url}/v1/tasks", json={"prompt": TASK, "tests": TESTS},
                         timeout=30).json()["task_id"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/v1/tasks/{task_id}", timeout=30).json()["status"] == "completed":
            return task_id
        time.sleep(0.2)
    raise RuntimeError("the setup task did not complete")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path, help="save the figures here")
    args = parser.parse_args()
    bounds = {"requests": args.requests, "seconds": args.seconds,
              "concurrency": args.concurrency}
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, kind in (("baseline: bare FastAPI constant", "bare"),
                           ("status reads: GET /v1/tasks/{id}", "read"),
                           ("submissions: POST /v1/tasks", "submit")):
            home = os.path.join(tmp, kind)
            server = Server(kind, home)
            try:
                if kind == "bare":
                    target = ("GET", "/constant", None)
                elif kind == "read":
                    target = ("GET", f"/v1/tasks/{run_task(server.url)}", None)
                else:
                    target = ("POST", "/v1/tasks", {"prompt": TASK, "tests": TESTS})
                results[name] = uvloop.run(drive(server.port, *target, **bounds))
            finally:
                server.stop()
    base = results["baseline: bare FastAPI constant"]
    print(f"concurrency {args.concurrency}, at most {args.requests} requests or "
          f"{args.seconds:g} s per scenario; {os.cpu_count()} cores")
    print(f"{'scenario':38} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs baseline':>12}")
    for name, r in results.items():
        print(f"{name:38} {r['rps']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
              f"{r['rps'] / base['rps']:11.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
