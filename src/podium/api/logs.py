"""Structured logs for the server: JSON lines in production, readable lines in a terminal."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog


def configure_logging(*, json: bool | None = None, level: str = "info",
                      stream: TextIO | None = None) -> None:
    """Send structlog's lines to ``stream`` (default stderr: stdout may be a protocol channel,
    as with MCP over stdio). ``json`` None picks JSON unless the stream is a terminal.

    Lines go out through a stdlib handler of the "podium" logger, which reports a failed write
    (a closed stream, say) instead of raising it into the request that logged.
    """
    stream = stream or sys.stderr
    as_json = not stream.isatty() if json is None else json
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer())
    threshold = logging.getLevelNamesMapping()[level.upper()]
    handler = logging.StreamHandler(stream)
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
