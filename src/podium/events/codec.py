"""Turning stored JSON back into events."""

from __future__ import annotations

from podium.events.envelope import STORED
from podium.events.types import EVENT_TYPES, Event, UnknownEvent

_STORED_CONTEXT = {STORED: True}


def decode_event(type_name: str, body: str | bytes) -> Event:
    """Rebuild an event from its stored JSON; an unknown type becomes an UnknownEvent."""
    cls = EVENT_TYPES.get(type_name, UnknownEvent)
    return cls.model_validate_json(body, context=_STORED_CONTEXT)  # type: ignore[return-value]
