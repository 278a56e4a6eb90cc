"""Turning events into stored JSON and back."""

from __future__ import annotations

from podium.events.envelope import STORED
from podium.events.types import EVENT_TYPES, Event, UnknownEvent

_STORED_CONTEXT = {STORED: True}


def encode_event(event: Event) -> str:
    """The event's JSON, as ``event.model_dump_json()`` gives it.

    Calls the serializer directly: the keyword-forwarding wrapper of ``model_dump_json`` cost
    about a fifth of the serialization itself, on every event appended.
    """
    return event.__pydantic_serializer__.to_json(event).decode()


def decode_event(type_name: str, body: str | bytes) -> Event:
    """Rebuild an event from its stored JSON; an unknown type becomes an UnknownEvent.

    The body is fully validated, as ``cls.model_validate_json(body, context=...)`` would (that
    method only forwards to the validator called here). A trusted shortcut (``model_construct``
    on parsed JSON) was measured slower than pydantic's validator and would skip every check.
    """
    cls = EVENT_TYPES.get(type_name, UnknownEvent)
    validator = cls.__pydantic_validator__
    return validator.validate_json(body, context=_STORED_CONTEXT)  # type: ignore[no-any-return]
