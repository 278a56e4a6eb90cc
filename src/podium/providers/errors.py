"""The provider error type, what kind of failure it is, and what a server asked us to wait.

Every connector turns its wire failures into :class:`ProviderError` with a ``kind``; the router
decides from the kind alone whether to retry, cool a deployment down, fall back or give up.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Literal

ErrorKind = Literal[
    "timeout",  # connect, first-token, idle or total timeout; HTTP 408
    "connection",  # refused, reset, closed mid-stream
    "conflict",  # HTTP 409
    "rate_limit",  # HTTP 429 that waiting can fix
    "overloaded",  # HTTP 529 / overloaded_error
    "server",  # HTTP 5xx, or an error object in a stream
    "protocol",  # a malformed response: bad JSON, a line that is not an event
    "quota",  # quota used up or zero: waiting does not help today
    "auth",  # HTTP 401/403
    "bad_request",  # HTTP 400/404/413/422: the request itself is wrong here
    "context_length",  # the prompt does not fit the model's window
    "unavailable",  # not tried: circuit open, rate-limit wait past the deadline
    "budget",  # not tried: the call could exceed a budget
    "failed",  # anything else (a local model's own failure)
]

RETRYABLE_KINDS: frozenset[str] = frozenset(
    {"timeout", "connection", "conflict", "rate_limit", "overloaded", "server", "protocol"}
)


class ProviderError(Exception):
    """A provider could not produce a completion.

    The message always starts with the provider's name, followed by what went wrong
    (unreachable URL, missing model file, HTTP status and body excerpt, ...). ``kind`` says
    what sort of failure it is, ``status`` the HTTP status when there was one, and
    ``retry_after_s`` how long the server asked us to wait, if it said.
    """

    def __init__(
        self,
        provider: str,
        detail: str,
        *,
        kind: ErrorKind = "failed",
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{provider} provider: {detail}")
        self.provider = provider
        self.detail = detail
        self.kind: ErrorKind = kind
        self.status = status
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        """True when the same request may succeed if sent again later."""
        return self.kind in RETRYABLE_KINDS


class BudgetExceeded(ProviderError):
    """The call could push a task's or the day's spending past its budget."""

    def __init__(self, detail: str) -> None:
        super().__init__("router", detail, kind="budget")


# Error types and codes that say more than the status does (OpenAI's ``code``/``type``,
# Anthropic's ``error.type``, Gemini's ``status``), most specific first.
_CODE_KINDS: tuple[tuple[str, ErrorKind], ...] = (
    ("quota", "quota"),
    ("billing", "quota"),
    ("context_length", "context_length"),
    ("context_window", "context_length"),
    ("rate_limit", "rate_limit"),
    ("resource_exhausted", "rate_limit"),
    ("overloaded", "overloaded"),
    ("authentication", "auth"),
    ("permission", "auth"),
    ("unauthenticated", "auth"),
    ("invalid_request", "bad_request"),
    ("invalid_argument", "bad_request"),
    ("not_found", "bad_request"),
)


def kind_for_status(status: int, code: str = "") -> ErrorKind:
    """The kind of an HTTP error status; ``code`` is the provider's error type or code, which
    tells a used-up quota from a passing rate limit (both are HTTP 429)."""
    code = code.lower()
    for marker, kind in _CODE_KINDS:
        if marker in code:
            return kind
    if status == 408:
        return "timeout"
    if status == 409:
        return "conflict"
    if status == 429:
        return "rate_limit"
    if status == 529:
        return "overloaded"
    if status >= 500:
        return "server"
    if status in (401, 403):
        return "auth"
    if status == 402:
        return "quota"
    return "bad_request"


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """How long the server asked us to wait: ``retry-after-ms`` first, then ``Retry-After`` as
    seconds or as an HTTP date. None when it did not say or said something unreadable."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = lowered.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            continue
        if seconds >= 0 and seconds != float("inf"):
            return seconds
    value = lowered.get("retry-after")
    if value is None:
        return None
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(email.utils.mktime_tz(parsed) - (time.time() if now is None else now), 0.0)
