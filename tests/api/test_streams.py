"""Live streams against a real server: the `websockets` client and httpx for server-sent events.

Most tests write a task's events straight into the server's store (the log is what streams
carry), so they control exactly when each event appears; one follows a real task.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from podium.events.types import (
    CodeGenerated,
    CodeGeneratedData,
    ModuleStarted,
    ModuleStartedData,
    TaskComplete,
    TaskCompleteData,
    TaskCreated,
    TaskCreatedData,
)
from tests.api.conftest import TASK, TESTS, Served, serving, wait_until

CAPACITY = 3
MESSAGES_PER_MINUTE = 5
SEND_BUFFER = 64


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("streams"), ws_max_connections=CAPACITY,
                 ws_messages_per_minute=MESSAGES_PER_MINUTE, ws_send_buffer=SEND_BUFFER) as s:
        yield s


_count = 0


def new_task(served: Served, events: int = 0) -> str:
    """A task with TASK_CREATED and ``events`` progress events, written to the log."""
    global _count
    _count += 1
    task_id = f"stream-{_count}"
    served.service.store.append([TaskCreated(task_id=task_id, data=TaskCreatedData(
        prompt=TASK, provider="scripted", model="scripted", max_rounds=1, workspace="-"))])
    progress(served, task_id, events)
    return task_id


def progress(served: Served, task_id: str, count: int, pause: float = 0.0) -> None:
    for i in range(count):
        served.service.store.append([ModuleStarted(task_id=task_id,
                                                   data=ModuleStartedData(module=f"m{i}"))])
        time.sleep(pause)


def finish(served: Served, task_id: str) -> None:
    served.service.store.append([TaskComplete(task_id=task_id,
                                              data=TaskCompleteData(files=[], duration_s=0))])


def in_background(work: object) -> threading.Thread:
    thread = threading.Thread(target=work)  # type: ignore[arg-type]
    thread.start()
    return thread


def stored_positions(served: Served, task_id: str) -> list[int]:
    return [e.position for e in served.service.store.read_task(task_id)]


async def read_all(ws: ClientConnection) -> list[dict]:
    return [json.loads(message) async for message in ws]


def events_seen(served: Served, event_type: str) -> float:
    """The server's count of events of a type it has seen, from its metrics."""
    with served.client() as http:
        text = http.get("/metrics").text
    prefix = f'podium_events_total{{type="{event_type}"}} '
    return next((float(line[len(prefix):]) for line in text.splitlines()
                 if line.startswith(prefix)), 0.0)


def stream_url(served: Served, task_id: str, after: int = 0) -> str:
    return f"{served.ws_url}/v1/tasks/{task_id}/stream?after={after}"


async def test_a_real_task_streams_to_its_end(served: Served) -> None:
    with served.client() as http:
        task_id = http.post("/v1/tasks", json={"prompt": TASK, "tests": TESTS}).json()["task_id"]
    async with connect(stream_url(served, task_id)) as ws:
        events = await read_all(ws)
    assert ws.close_code == 1000 and ws.close_reason == "task finished"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "TASK_COMPLETE"
    assert [e["position"] for e in events] == stored_positions(served, task_id)


async def test_replay_then_live_with_no_gap_or_duplicate(served: Served) -> None:
    task_id = new_task(served, events=30)
    writer = in_background(lambda: (progress(served, task_id, 150, pause=0.002),
                                    finish(served, task_id)))
    try:
        async with connect(stream_url(served, task_id)) as ws:
            events = await read_all(ws)
    finally:
        writer.join()
    assert [e["seq"] for e in events] == list(range(1, 183))
    assert [e["position"] for e in events] == stored_positions(served, task_id)
    assert ws.close_code == 1000


async def test_a_client_that_reconnects_with_its_last_position_misses_nothing(
        served: Served) -> None:
    task_id = new_task(served, events=10)
    writer = in_background(lambda: (progress(served, task_id, 100, pause=0.003),
                                    finish(served, task_id)))
    try:
        async with connect(stream_url(served, task_id)) as ws:
            first = [json.loads(await ws.recv()) for _ in range(40)]
        last = first[-1]["position"]
        async with connect(stream_url(served, task_id, after=last)) as ws:
            rest = await read_all(ws)
    finally:
        writer.join()
    seqs = [e["seq"] for e in first + rest]
    assert seqs == list(range(1, 113))
    assert rest[0]["position"] > last


async def test_sse_resumes_from_last_event_id(served: Served) -> None:
    task_id = new_task(served, events=20)
    url = f"{served.url}/v1/tasks/{task_id}/events/stream"

    async def read(headers: dict[str, str], stop_after: int | None) -> list[tuple[str, dict]]:
        got: list[tuple[str, dict]] = []
        event_id = None
        async with httpx.AsyncClient(timeout=30) as http, \
                http.stream("GET", url, headers=headers) as reply:
            assert reply.status_code == 200
            assert reply.headers["content-type"].startswith("text/event-stream")
            async for line in reply.aiter_lines():
                if line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:"):
                    got.append((event_id, json.loads(line[5:])))
                    if stop_after is not None and len(got) == stop_after:
                        break
        return got

    first = await read({}, stop_after=12)
    writer = in_background(lambda: (progress(served, task_id, 20, pause=0.002),
                                    finish(served, task_id)))
    try:
        rest = await read({"Last-Event-ID": first[-1][0]}, stop_after=None)  # ends by itself
    finally:
        writer.join()
    events = [e for _, e in first + rest]
    assert [e["seq"] for e in events] == list(range(1, 43))
    assert all(event_id == str(e["position"]) for event_id, e in first + rest)
    assert events[-1]["type"] == "TASK_COMPLETE"


async def test_the_connection_beyond_capacity_is_closed_with_1008(served: Served) -> None:
    task_id = new_task(served, events=1)
    with served.client() as http:
        wait_until(lambda: http.get("/v1/ws-stats").json()["connections"] == 0,
                   "earlier streams to close", timeout=30)
        held = [await connect(stream_url(served, task_id)) for _ in range(CAPACITY)]
        for ws in held:
            await ws.recv()  # each got its replay: it is being served
        assert http.get("/v1/ws-stats").json() == {"connections": CAPACITY,
                                                   "capacity": CAPACITY, "utilization": 1.0}
        async with connect(stream_url(served, task_id)) as extra:
            with pytest.raises(ConnectionClosed):
                await extra.recv()
        assert extra.close_code == 1008 and extra.close_reason == "server at capacity"
        await held[0].close()
        wait_until(lambda: http.get("/v1/ws-stats").json()["connections"] == CAPACITY - 1,
                   "a slot to free up", timeout=30)
        async with connect(stream_url(served, task_id)) as again:
            assert json.loads(await again.recv())["seq"] == 1
        for ws in held[1:]:
            await ws.close()


async def test_messages_beyond_the_rate_limit_get_retry_after_ms(served: Served) -> None:
    task_id = new_task(served)
    async with connect(stream_url(served, task_id)) as ws:
        replies = []
        for _ in range(MESSAGES_PER_MINUTE + 1):
            await ws.send(json.dumps({"op": "ping"}))
        while len(replies) < MESSAGES_PER_MINUTE + 1:
            message = json.loads(await ws.recv())
            if "seq" not in message:  # events are interleaved with the replies
                replies.append(message)
        await ws.send("what")
        while "seq" in (unknown := json.loads(await ws.recv())):
            pass
    assert replies[:MESSAGES_PER_MINUTE] == [{"type": "pong"}] * MESSAGES_PER_MINUTE
    assert replies[-1]["type"] == "error" and replies[-1]["error"] == "rate_limited"
    assert replies[-1]["retry_after_ms"] == 60_000 // MESSAGES_PER_MINUTE
    assert unknown["error"] == "rate_limited"  # still over the limit: dropped, not answered


async def test_a_slow_reader_is_disconnected_with_a_reason(served: Served) -> None:
    task_id = new_task(served)
    big = "x" * 64_000
    sock = socket.socket()
    # A small receive window: otherwise the kernel would buffer megabytes for the client.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", urlparse(served.url).port))
    # No compression: 64 kB of "x" would otherwise shrink to almost nothing on the wire.
    async with connect(stream_url(served, task_id), sock=sock, max_size=None,
                       compression=None) as ws:
        assert json.loads(await ws.recv())["seq"] == 1
        ws.transport.pause_reading()  # the client stops reading its socket
        writer = in_background(lambda: [served.service.store.append([CodeGenerated(
            task_id=task_id, data=CodeGeneratedData(module="m", round=1, path="m.py",
                                                   code=big))]) for _ in range(400)])
        await asyncio.to_thread(writer.join)  # 25 MB: far more than the sockets hold
        # Resume once the server has handed every event to this stream's buffer.
        await asyncio.to_thread(wait_until, lambda: events_seen(served, "CODE_GENERATED") >= 400,
                                "the server to see every event")
        ws.transport.resume_reading()
        received = []
        with pytest.raises(ConnectionClosed):
            while True:
                received.append(json.loads(await ws.recv()))
    assert ws.close_code == 1013
    assert ws.close_reason.startswith("client too slow: more than 64 events waited")
    assert f"reconnect with after={received[-1]['position']}" in ws.close_reason
    assert [e["seq"] for e in received] == list(range(2, len(received) + 2))  # no gap
    assert len(received) < 400


async def test_unknown_task_and_bad_position_close_with_a_reason(served: Served) -> None:
    async with connect(stream_url(served, "missing-task")) as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 4404 and "missing-task" in ws.close_reason
    for bad in ("-3", str(2**63)):  # negative; beyond the largest position the store holds
        async with connect(f"{served.ws_url}/v1/tasks/x/stream?after={bad}") as ws:
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        assert ws.close_code == 4400 and "after must be a whole number" in ws.close_reason
