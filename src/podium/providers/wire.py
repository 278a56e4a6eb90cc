"""Framing of streamed HTTP bodies over httpx: newline-delimited JSON and server-sent events,
and the translation of httpx's own failures into :class:`ProviderError`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from podium.providers.errors import ProviderError


@dataclass(frozen=True)
class ServerSentEvent:
    event: str
    data: str


async def ndjson_objects(response: httpx.Response, provider: str) -> AsyncIterator[dict[str, Any]]:
    """Each non-blank line of ``response`` as a JSON object; a line that is not one raises a
    ``protocol`` :class:`ProviderError` quoting it."""
    async for line in response.aiter_lines():
        if not line.strip():
            continue
        yield _json_object(line, provider, "line")


async def server_sent_events(response: httpx.Response) -> AsyncIterator[ServerSentEvent]:
    """The events of a ``text/event-stream`` body, as the HTML standard defines them: ``data``
    lines joined by newlines, dispatched on a blank line; comments and ``id``/``retry`` fields
    are skipped."""
    event, data = "", list[str]()
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield ServerSentEvent(event or "message", "\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "event":
            event = value
    if data:
        yield ServerSentEvent(event or "message", "\n".join(data))


def json_data(event: ServerSentEvent, provider: str) -> dict[str, Any]:
    """An event's data as a JSON object, or a ``protocol`` error quoting it."""
    return _json_object(event.data, provider, "event")


def _json_object(text: str, provider: str, what: str) -> dict[str, Any]:
    """``text`` parsed as a JSON object, or a ``protocol`` error naming ``what`` it was (a
    stream's line or event) and quoting it."""
    try:
        value = json.loads(text)
    except ValueError:
        raise ProviderError(provider, f"malformed {what} in the stream: {text[:200]!r}",
                            kind="protocol") from None
    if not isinstance(value, dict):
        raise ProviderError(provider, f"stream {what} is not a JSON object: {text[:200]!r}",
                            kind="protocol")
    return value


def transport_error(provider: str, url: str, exc: httpx.HTTPError) -> ProviderError:
    """A timeout or connection failure of httpx, as a :class:`ProviderError` naming ``url``."""
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError(provider, f"request to {url} timed out", kind="timeout")
    return ProviderError(provider, f"server unreachable or connection lost at {url}: "
                         f"{type(exc).__name__}: {exc}", kind="connection")


def timeout(total_s: float, connect_s: float) -> httpx.Timeout:
    return httpx.Timeout(total_s, connect=min(connect_s, total_s))


@asynccontextmanager
async def http_stream(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    provider: str,
    on_status: Callable[[httpx.Response, str], ProviderError],
    **kwargs: Any,
) -> AsyncIterator[httpx.Response]:
    """A streamed response whose status was checked (``on_status`` builds the error for a
    non-2xx one from the response and its body) and whose transport failures, on opening or
    while the body is read inside the block, come out as :class:`ProviderError`."""
    try:
        async with client.stream(method, url, **kwargs) as response:
            if not response.is_success:
                text = (await response.aread()).decode(errors="replace")
                raise on_status(response, text)
            yield response
    except httpx.HTTPError as exc:
        raise transport_error(provider, f"{client.base_url}{url}", exc) from exc
