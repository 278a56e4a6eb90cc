"""Live streams of a task's events: WebSocket and server-sent events, over the event hub.

Both replay the stored events after a position, then send live ones, each once, in order;
every message is the event's JSON, which carries its ``seq`` and ``position``. A client that
reconnects with the last position it saw misses nothing. After the terminal event the
stream ends normally.

WebSocket close codes: 1000 the task finished; 1001 the server is shutting down; 1008 the
server is at capacity; 1013 the client read too slowly (its buffer overflowed: reconnect with
``after``); 4400 bad ``after``; 4401 no valid API key; 4403 a missing scope; 4404 no such task.
Messages a client sends (``{"op": "ping"}`` is answered with ``{"type": "pong"}``) are limited
per connection; beyond the limit the message is dropped and answered with an error carrying
``retry_after_ms``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

import structlog
from aiolimiter import AsyncLimiter
from fastapi import APIRouter, Header, Query, Request, WebSocket
from sse_starlette import EventSourceResponse, ServerSentEvent

from podium.api.context import ServerContext, principal, require_scope, server
from podium.api.hub import SlowConsumer, TaskStream
from podium.api.keys import READ
from podium.services import InvalidInput, TaskNotFound, parse_position
from podium.store import MAX_INTEGER

router = APIRouter(tags=["streams"])
log = structlog.get_logger("podium.api")

CLOSE_DONE, CLOSE_GOING_AWAY, CLOSE_AT_CAPACITY = 1000, 1001, 1008
CLOSE_INTERNAL_ERROR, CLOSE_TOO_SLOW = 1011, 1013
CLOSE_BAD_REQUEST, CLOSE_UNAUTHORIZED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND = 4400, 4401, 4403, 4404
# A slow reader's socket may be full: give the close frame this long to get out.
SLOW_CLOSE_TIMEOUT_S = 10.0
SSE_PING_S = 15.0
SSE_SEND_TIMEOUT_S = 30.0


@router.websocket("/v1/tasks/{task_id}/stream")
async def stream_websocket(websocket: WebSocket, task_id: str) -> None:
    ctx = server(websocket)
    if not ctx.slots.try_take():
        await websocket.accept()
        await websocket.close(CLOSE_AT_CAPACITY, "server at capacity")
        return
    try:
        refusal, after = await _check(websocket, ctx, task_id)
        await websocket.accept()
        if refusal is not None:
            await websocket.close(*refusal)
            return
        await _serve(websocket, ctx, task_id, after)
    finally:
        ctx.slots.give_back()


async def _check(websocket: WebSocket, ctx: ServerContext,
                 task_id: str) -> tuple[tuple[int, str] | None, int]:
    """Why the stream is refused (a close code and reason), and the position to start after."""
    problem = websocket.scope["state"].get("auth_problem")
    if problem is not None:
        return (CLOSE_UNAUTHORIZED, problem), 0
    caller = principal(websocket)
    if not caller.allows(READ):
        return (CLOSE_FORBIDDEN, f"this API key lacks the {READ!r} scope"), 0
    if not ctx.accepting:
        return (CLOSE_GOING_AWAY, "server shutting down"), 0
    try:
        after = parse_position("after", websocket.query_params.get("after", "0"))
    except InvalidInput as exc:
        return (CLOSE_BAD_REQUEST, str(exc)[:120]), 0
    try:
        await asyncio.to_thread(ctx.service.require, task_id, caller.tenant)
    except TaskNotFound as exc:
        return (CLOSE_NOT_FOUND, str(exc)[:120]), 0
    return None, after


async def _serve(websocket: WebSocket, ctx: ServerContext, task_id: str, after: int) -> None:
    """Send the task's events until its terminal event, the client leaving, or the client
    falling behind; meanwhile answer the client's messages."""
    lock = asyncio.Lock()

    async def send(text: str) -> None:
        async with lock:  # the event sender and the message listener share the socket
            await websocket.send_text(text)

    sent = after  # the last position the client was sent (a cancelled send sent nothing)

    async def pump(stream: TaskStream) -> None:
        nonlocal sent
        async for delivery in stream:
            await send(delivery.text)
            sent = delivery.position

    with ctx.hub.open(task_id, after_position=after,
                      capacity=ctx.settings.ws_send_buffer) as stream:
        streaming = asyncio.create_task(pump(stream))
        listening = asyncio.create_task(_listen(websocket, send,
                                                ctx.settings.ws_messages_per_minute))
        # A sender blocked on a full socket never reads the overflow: watch for it too.
        overflowing = asyncio.create_task(stream.overflowed.wait())
        tasks = (streaming, listening, overflowing)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    if _ended_cleanly(listening):
        return  # the client left
    if stream.overflowed.is_set():
        code, reason = CLOSE_TOO_SLOW, str(SlowConsumer(stream.capacity, sent))
    elif _ended_cleanly(streaming):
        code, reason = CLOSE_DONE, "task finished"
    else:
        error = streaming.exception() if streaming.done() and not streaming.cancelled() else None
        log.warning("stream failed", task_id=task_id, error=repr(error))
        code, reason = CLOSE_INTERNAL_ERROR, "internal error"
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(code, _reason(reason)), SLOW_CLOSE_TIMEOUT_S)


def _ended_cleanly(task: asyncio.Task[None]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is None


async def _listen(websocket: WebSocket, send: Callable[[str], Awaitable[None]],
                  per_minute: int) -> None:
    """Answer the client's messages, at most ``per_minute`` of them; returns when it leaves."""
    limiter = AsyncLimiter(per_minute, 60)
    retry_ms = math.ceil(60_000 / per_minute)
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if not limiter.has_capacity():
            await send(json.dumps({
                "type": "error", "error": "rate_limited", "retry_after_ms": retry_ms,
                "message": f"at most {per_minute} messages a minute; this one was dropped"}))
            continue
        await limiter.acquire()
        await send(json.dumps(_answer(message.get("text"))))


def _answer(text: str | None) -> dict[str, object]:
    try:
        request = json.loads(text) if text is not None else None
    except json.JSONDecodeError:
        request = None
    if isinstance(request, dict) and request.get("op") == "ping":
        return {"type": "pong"}
    return {"type": "error", "error": "unknown_message",
            "message": 'send {"op": "ping"}; events arrive without asking'}


def _reason(text: str) -> str:
    # A close reason may hold at most 123 bytes.
    return text.encode()[:123].decode(errors="ignore")


@router.get("/v1/tasks/{task_id}/events/stream", response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "one `data:` line per event, `id:` its position"},
                       404: {"description": "no such task"}})
async def stream_sse(
    task_id: str, request: Request,
    after: Annotated[int, Query(ge=0, le=MAX_INTEGER,
                                description="start after this global position")] = 0,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> EventSourceResponse:
    """Server-sent events: the task's stored events after the position, then live ones; a
    reconnecting client resumes from its Last-Event-ID. Ends after the terminal event, or
    with an `error` event when the client reads too slowly."""
    caller = require_scope(request, READ)
    ctx = server(request)
    if last_event_id is not None:
        after = parse_position("Last-Event-ID", last_event_id)
    await asyncio.to_thread(ctx.service.require, task_id, caller.tenant)

    async def events() -> AsyncIterator[ServerSentEvent]:
        with ctx.hub.open(task_id, after_position=after,
                          capacity=ctx.settings.ws_send_buffer) as stream:
            try:
                async for delivery in stream:
                    yield ServerSentEvent(data=delivery.text, id=str(delivery.position))
            except SlowConsumer as exc:
                yield ServerSentEvent(event="error", data=json.dumps(
                    {"error": "slow_consumer", "message": str(exc), "after": exc.last_position}))

    return EventSourceResponse(events(), ping=SSE_PING_S, send_timeout=SSE_SEND_TIMEOUT_S)
