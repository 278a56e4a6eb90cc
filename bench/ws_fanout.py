"""WebSocket fan-out benchmark: from an event's append to its receipt by every connected client.

    python bench/ws_fanout.py                    # 1,000 clients, 50 events; baseline 1 client
    python bench/ws_fanout.py --clients 500 --events 20

This process runs a Podium server (uvicorn, in a thread, on a free loopback port) and appends a
task's events to its store, as the workflow does inside the server; a second process holds the
WebSocket clients (asyncio, the `websockets` library), all following that task. For each event
the appender notes the time just before ``store.append``; each client notes when the event
arrived. Latency = arrival - append, on the same machine clock. Events are appended one at a
time, ``--gap`` seconds apart, so each is measured alone rather than queued behind the last.

Baseline, in the same run: the same measurement with a single client. Reported: p50 and p99
over every (event, client) arrival, and p50/p99 of the time until the last client had each
event. Bounded: a fixed number of events and clients, and a time limit on every wait.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TASK = "Write a function add(a, b) that returns the sum of two numbers"
WAIT_S = 120.0


# --- the clients (a separate process: `ws_fanout.py clients URL COUNT`) -----------------------


async def clients(url: str, count: int) -> None:
    from websockets.asyncio.client import connect

    arrivals: list[dict[int, float]] = [{} for _ in range(count)]
    connections = []
    for _ in range(count):
        ws = await connect(url, max_size=None, open_timeout=WAIT_S)
        json.loads(await ws.recv())  # the replay of TASK_CREATED: this client is live
        connections.append(ws)
    print("ready", flush=True)

    async def follow(index: int, ws: object) -> None:
        async for message in ws:  # type: ignore[attr-defined]
            arrivals[index][json.loads(message)["position"]] = time.time()

    await asyncio.wait_for(asyncio.gather(*(follow(i, ws) for i, ws in enumerate(connections))),
                           WAIT_S)
    print(json.dumps(arrivals), flush=True)


# --- the server and the appender --------------------------------------------------------------


def start_server(home: Path, capacity: int) -> tuple[str, object, object]:
    import uvicorn

    from podium.api import build_service, create_app
    from podium.api.app import WS_DEFLATE
    from podium.config import Settings
    from podium.logs import configure_logging
    from podium.providers import ScriptedProvider

    configure_logging(level="warning")
    settings = Settings(home=home, queue_poll_s=60, ws_max_connections=capacity,
                        shutdown_grace_s=0)
    service, metrics = build_service(settings, ScriptedProvider({"*": ["x"]}))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(service, metrics), log_level="warning",
                                           access_log=False, http="httptools", loop="uvloop",
                                           ws_per_message_deflate=WS_DEFLATE))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    return f"ws://127.0.0.1:{sock.getsockname()[1]}", server, service


def measure(base_url: str, service: object, task_id: str, count: int, events: int,
            gap: float) -> dict[str, float]:
    from podium.events.types import (
        ModuleStarted,
        ModuleStartedData,
        TaskComplete,
        TaskCompleteData,
        TaskCreated,
        TaskCreatedData,
    )

    store = service.store  # type: ignore[attr-defined]
    store.append([TaskCreated(task_id=task_id, data=TaskCreatedData(
        prompt=TASK, provider="scripted", model="scripted", max_rounds=1, workspace="-"))])
    proc = subprocess.Popen([sys.executable, __file__, "clients",
                             f"{base_url}/v1/tasks/{task_id}/stream", str(count)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("the clients did not connect")
    appended: dict[int, float] = {}
    for i in range(events):
        event = ModuleStarted(task_id=task_id, data=ModuleStartedData(module=f"m{i}"))
        started = time.time()
        appended[store.append([event])[0].position] = started
        time.sleep(gap)
    store.append([TaskComplete(task_id=task_id, data=TaskCompleteData(files=[], duration_s=0))])
    arrivals = json.loads(proc.stdout.readline())
    proc.wait(timeout=WAIT_S)
    every = sorted(1000 * (seen[str(p)] - t) for seen in arrivals for p, t in appended.items())
    last = sorted(1000 * (max(seen[str(p)] for seen in arrivals) - t)
                  for p, t in appended.items())
    return {"clients": count, "events": events, "p50_ms": statistics.median(every),
            "p99_ms": every[int(0.99 * (len(every) - 1))],
            "last_client_p50_ms": statistics.median(last),
            "last_client_p99_ms": last[int(0.99 * (len(last) - 1))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between appends")
    parser.add_argument("--json", type=Path, help="save the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base_url, server, service = start_server(Path(tmp), capacity=args.clients + 10)
        try:
            results = {
                "baseline: 1 client": measure(base_url, service, "one", 1, args.events, args.gap),
                f"{args.clients} clients": measure(base_url, service, "many", args.clients,
                                                   args.events, args.gap),
            }
        finally:
            server.should_exit = True  # type: ignore[attr-defined]
    print(f"{args.events} events, {args.gap:g} s apart; {os.cpu_count()} cores")
    print(f"{'clients':22} {'p50 ms':>8} {'p99 ms':>8} {'last p50':>9} {'last p99':>9}")
    for name, r in results.items():
        print(f"{name:22} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['last_client_p50_ms']:9.2f} "
              f"{r['last_client_p99_ms']:9.2f}")
    one, many = results.values()
    print(f"p99 with {args.clients} clients / p99 with one: {many['p99_ms'] / one['p99_ms']:.1f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "clients":
        asyncio.run(clients(sys.argv[2], int(sys.argv[3])))
    else:
        main()
