"""Per-request timeouts, and the guard that enforces the first-token and idle ones on streams.

Connect timeouts are the HTTP client's job; the first-token, idle and total timeouts are
enforced here, by Podium's own code, because a server that sends headers and then nothing
(or a byte a minute) keeps any socket-level read timeout happy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from podium.providers.chunks import Chunk
from podium.providers.errors import ProviderError


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed to connect, until the first chunk, between two chunks, and in all."""

    connect_s: float = 10.0
    first_token_s: float = 60.0
    idle_s: float = 30.0
    total_s: float = 600.0

    def __post_init__(self) -> None:
        for name in ("connect_s", "first_token_s", "idle_s", "total_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"timeout {name} must be positive")


def remaining(deadline: float) -> float:
    """Seconds left until ``deadline`` (a ``time.monotonic()`` instant), never negative."""
    return max(deadline - time.monotonic(), 0.0)


async def guard_stream(
    stream: AsyncIterator[Chunk], provider: str, timeouts: Timeouts, deadline: float
) -> AsyncIterator[Chunk]:
    """Yield ``stream``'s chunks unchanged, failing with a ``timeout`` :class:`ProviderError`
    when the first chunk takes longer than ``first_token_s``, a later one longer than
    ``idle_s``, or the stream runs past ``deadline``.

    Only the wait for the next chunk is timed, never the caller's own work between chunks.
    The underlying stream is always closed, so its HTTP response is released.
    """
    loop = asyncio.get_running_loop()
    limit, waiting_for, count = timeouts.first_token_s, "first token", 0
    by_deadline = False
    try:
        async with asyncio.timeout(None) as scope:
            while True:
                left = deadline - time.monotonic()
                by_deadline = left <= limit
                scope.reschedule(loop.time() + min(limit, left))
                try:
                    chunk = await anext(stream)
                except StopAsyncIteration:
                    return
                scope.reschedule(None)
                count += 1
                yield chunk
                limit, waiting_for = timeouts.idle_s, "next chunk"
    except TimeoutError as exc:
        if not scope.expired():
            raise  # the stream's own timeout error, not ours
        if by_deadline:
            detail = f"the call ran out of time after {count} chunk(s) (deadline reached)"
        elif count == 0:
            detail = f"no first token within {timeouts.first_token_s:g} s"
        else:
            detail = (f"stream idle for more than {timeouts.idle_s:g} s waiting for the "
                      f"{waiting_for} after {count} chunk(s)")
        raise ProviderError(provider, detail, kind="timeout") from exc
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
