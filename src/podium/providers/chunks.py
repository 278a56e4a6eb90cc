"""The one chunk type every stream yields, whatever the wire format, and its assembler.

A stream is a sequence of :class:`Chunk`: text deltas, tool-call deltas (argument fragments,
joined per tool-call index), usage reports (the last value of each count wins, because
several providers report cumulative counts), one finish reason, and, from the router only,
``error`` chunks that withdraw the output of a failed attempt before a retry begins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ChunkKind = Literal["text", "tool_call", "usage", "finish", "error"]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One normalized piece of a streamed answer. Build it with the class methods."""

    kind: ChunkKind
    text: str = ""  # a text delta, or an error's message
    index: int = 0  # which tool call a tool-call delta belongs to
    call_id: str = ""  # set on a tool call's first delta
    name: str = ""  # set on a tool call's first delta
    arguments: str = ""  # a fragment of the tool call's JSON arguments
    tokens_in: int | None = None
    tokens_out: int | None = None
    finish_reason: str = ""
    attempt: int = 0  # on an error chunk: the attempt whose output is withdrawn

    @classmethod
    def delta(cls, text: str) -> Chunk:
        return cls("text", text=text)

    @classmethod
    def tool_call(cls, index: int, *, call_id: str = "", name: str = "",
                  arguments: str = "") -> Chunk:
        return cls("tool_call", index=index, call_id=call_id, name=name, arguments=arguments)

    @classmethod
    def usage(cls, tokens_in: int | None = None, tokens_out: int | None = None) -> Chunk:
        return cls("usage", tokens_in=tokens_in, tokens_out=tokens_out)

    @classmethod
    def finish(cls, reason: str) -> Chunk:
        return cls("finish", finish_reason=reason or "unknown")

    @classmethod
    def error(cls, message: str, attempt: int) -> Chunk:
        return cls("error", text=message, attempt=attempt)


@dataclass
class _ToolCallParts:
    call_id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class StreamAssembler:
    """Folds a stream's chunks into the answer they add up to.

    Guarantees: text is the deltas joined in order; each tool call's arguments are its
    fragments joined in order, tool calls ordered by index; an ``error`` chunk discards
    everything gathered so far (the router retries after it); usage counts are None until a
    chunk reports them.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._text: list[str] = []
        self._calls: dict[int, _ToolCallParts] = {}
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.finish_reason = ""
        self.chunks = 0

    def add(self, chunk: Chunk) -> None:
        kind = chunk.kind
        if kind == "text":
            self._text.append(chunk.text)
        elif kind == "tool_call":
            parts = self._calls.setdefault(chunk.index, _ToolCallParts())
            parts.call_id = parts.call_id or chunk.call_id
            parts.name = parts.name or chunk.name
            parts.arguments.append(chunk.arguments)
        elif kind == "usage":
            if chunk.tokens_in is not None:
                self.tokens_in = chunk.tokens_in
            if chunk.tokens_out is not None:
                self.tokens_out = chunk.tokens_out
        elif kind == "finish":
            self.finish_reason = chunk.finish_reason
        elif kind == "error":
            self.reset()
            return
        self.chunks += 1

    @property
    def text(self) -> str:
        return "".join(self._text)

    def tool_calls(self) -> list[tuple[str, str, str]]:
        """``(id, name, arguments)`` of each tool call, by index."""
        return [(p.call_id, p.name, "".join(p.arguments))
                for _, p in sorted(self._calls.items())]
