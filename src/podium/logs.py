"""Structured logs: JSON lines in production, readable lines in a terminal, always off stdout
unless asked (stdout carries `--json` output and the MCP stdio protocol)."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog


def configure_logging(*, json: bool | None = None, level: str = "info",
                      stream: TextIO | None = None) -> None:
    """Send structlog's lines to ``stream`` (default: the current stderr, since stdout may be a
    protocol channel, as with MCP over stdio). ``json`` None picks JSON unless the stream is
    a terminal.

    Lines go out through a stdlib handler of the "podium" logger, which reports a failed write
    (a closed stream, say) instead of raising it into the request that logged.
    """
    as_json = not (stream or sys.stderr).isatty() if json is None else json
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer())
    threshold = logging.getLevelNamesMapping()[level.upper()]
    handler = logging.StreamHandler(stream) if stream else _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    podium_logger = logging.getLogger("podium")
    podium_logger.handlers[:] = [handler]
    podium_logger.setLevel(threshold)
    podium_logger.propagate = False
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each line, so a command run with
    its streams swapped (by a test runner, say) never logs to one that was closed since."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass  # always the current sys.stderr
