"""One live subscription to the event log for the whole server, fanned out to every stream.

A thousand clients watching one task cost one read of each new event, one JSON encoding, and
a put into each client's bounded buffer; the hub never waits for a client. A client whose
buffer overflows is told so (SlowConsumer) instead of making the server hold more.

Replay then live, with no gap and no duplicate: a stream registers its buffer with the hub
first, then replays stored events from the store, then takes live events from its buffer,
skipping any position it already sent. Every event committed before the registration is in
the replay; every event the hub had not yet delivered at the registration reaches the buffer.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import structlog

from podium.events import TERMINAL_TYPES, Event
from podium.events.codec import encode_event
from podium.store import SqliteEventStore

log = structlog.get_logger(__name__)

REPLAY_PAGE = 500
RESTART_DELAY_S = 1.0


class SlowConsumer(Exception):
    """The client read too slowly: its buffer of live events overflowed."""

    def __init__(self, capacity: int, last_position: int) -> None:
        super().__init__(f"client too slow: more than {capacity} events waited to be sent; "
                         f"reconnect with after={last_position} to resume")
        self.last_position = last_position


@dataclass(frozen=True)
class Delivery:
    position: int
    type: str
    text: str  # the event's JSON


_OVERFLOW = Delivery(position=-1, type="", text="")


class TaskStream:
    """One consumer's view of a task: the stored events after a position, then live ones, each
    once and in order, ending with the terminal event. Iterating raises SlowConsumer once the
    consumer let more than ``capacity`` live events pile up; ``overflowed`` is set at that
    moment, so a consumer blocked in a send can be stopped."""

    def __init__(self, store: SqliteEventStore, task_id: str, after_position: int,
                 capacity: int) -> None:
        self.store, self.task_id, self.capacity = store, task_id, capacity
        self.last_position = after_position
        self.overflowed = asyncio.Event()
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue(maxsize=capacity)

    def offer(self, delivery: Delivery) -> None:
        """Called by the hub for each live event; never waits."""
        if self.overflowed.is_set():
            return
        try:
            self._queue.put_nowait(delivery)
        except asyncio.QueueFull:
            # Drop what waits: the consumer is told to resume from its last position.
            self.overflowed.set()
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(_OVERFLOW)  # wakes a consumer waiting for the next event

    async def __aiter__(self) -> AsyncIterator[Delivery]:
        while True:
            page = await asyncio.to_thread(self.store.read_all, after_position=self.last_position,
                                           task_id=self.task_id, limit=REPLAY_PAGE)
            for event in page:
                self.last_position = event.position
                yield Delivery(event.position, event.type, encode_event(event))
                if event.type in TERMINAL_TYPES:
                    return
            if len(page) < REPLAY_PAGE:
                break
        while True:
            delivery = await self._queue.get()
            if delivery is _OVERFLOW:
                raise SlowConsumer(self.capacity, self.last_position)
            if delivery.position <= self.last_position:
                continue  # already sent by the replay
            self.last_position = delivery.position
            yield delivery
            if delivery.type in TERMINAL_TYPES:
                return


class EventHub:
    def __init__(self, store: SqliteEventStore,
                 on_event: Callable[[Event], None] | None = None) -> None:
        self.store = store
        self.on_event = on_event
        self._streams: dict[str, set[TaskStream]] = defaultdict(set)

    async def run(self) -> None:
        """Follow the log from its current end until cancelled, surviving read errors."""
        position = await asyncio.to_thread(self.store.last_position)
        while True:
            try:
                async for event in self.store.subscribe(after_position=position):
                    position = event.position
                    self._dispatch(event)
            except Exception:
                log.exception("event hub: reading the log failed; retrying", position=position)
                await asyncio.sleep(RESTART_DELAY_S)

    def _dispatch(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)
        streams = self._streams.get(event.task_id)
        if streams:
            delivery = Delivery(event.position, event.type, encode_event(event))
            for stream in streams:
                stream.offer(delivery)

    @contextmanager
    def open(self, task_id: str, *, after_position: int, capacity: int) -> Iterator[TaskStream]:
        """A stream of the task's events, registered for live events before its replay."""
        stream = TaskStream(self.store, task_id, after_position, capacity)
        self._streams[task_id].add(stream)
        try:
            yield stream
        finally:
            streams = self._streams[task_id]
            streams.discard(stream)
            if not streams:
                del self._streams[task_id]
