"""A home event loop for state that must live on one loop, and the hand-over to it.

Rate limiters (aiolimiter's own rule), breakers, HTTP connection pools and budgets must be
shared by every caller, and callers come from many threads and loops: the workflow runs each
step in a DBOS worker thread with a short-lived loop of its own. So the router runs all its
work on one home loop (a daemon thread it starts, or a loop it adopts), and calls from any
other loop are handed over and their results handed back.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
_END = object()
_STOP_TIMEOUT_S = 10.0


class HomeLoop:
    """Runs coroutines and async iterators on one loop for callers on any loop.

    Guarantees: a call made on the home loop runs directly; a call from another loop runs on
    the home loop and its result, exception or items come back in order; cancelling the
    caller cancels the work on the home loop.
    """

    def __init__(self, name: str = "podium-providers") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def adopt(self, loop: asyncio.AbstractEventLoop) -> None:
        """Use ``loop`` (a long-lived loop the caller owns) instead of starting a thread."""
        with self._lock:
            if self._loop is not None and self._loop is not loop:
                raise RuntimeError("the home loop is already running elsewhere")
            self._loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                ready = threading.Event()
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._serve, args=(ready,),
                                                name=self._name, daemon=True)
                self._thread.start()
                ready.wait()
            return self._loop

    def _serve(self, ready: threading.Event) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(ready.set)
        self._loop.run_forever()

    def is_current(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the home loop."""
        if self.is_current():
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def iterate(self, items: Callable[[], AsyncIterator[T]]) -> AsyncIterator[T]:
        """Iterate ``items()`` on the home loop, yielding each item here as it arrives."""
        if self.is_current():
            async for item in items():
                yield item
            return
        caller = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[Any, BaseException | None]] = asyncio.Queue()

        def hand_back(item: Any, error: BaseException | None = None) -> None:
            with contextlib.suppress(RuntimeError):  # the caller's loop is gone: no one waits
                caller.call_soon_threadsafe(queue.put_nowait, (item, error))

        async def pump() -> None:
            try:
                async for item in items():
                    hand_back(item)
            except BaseException as exc:  # handed to the caller, who raises it
                hand_back(_END, exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
            else:
                hand_back(_END)

        work = asyncio.run_coroutine_threadsafe(pump(), self.loop)
        try:
            while True:
                item, error = await queue.get()
                if item is _END:
                    if error is not None:
                        raise error
                    return
                yield item
        finally:
            work.cancel()

    def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """From plain (non-async) code: run ``make()`` on the home loop and wait for it."""
        async def wrapper() -> T:
            return await make()

        if self._loop is not None and self._thread is None:
            raise RuntimeError("an adopted loop cannot be waited on synchronously")
        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result()

    def stop(self) -> None:
        """Stop the thread this object started (an adopted loop is left alone)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_STOP_TIMEOUT_S)
        loop.close()
