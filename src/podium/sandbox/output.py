"""Bounded capture of a child's output: memory stays bounded however much the child prints."""

from __future__ import annotations

import codecs


class OutputBuffer:
    """Keeps the first and last ``limit`` characters of a byte stream decoded as UTF-8.

    ``text()`` returns everything when it fits in ``limit`` characters; otherwise the head and
    the tail joined by a marker saying how many characters were elided, ``limit`` characters in
    total. Undecodable bytes become U+FFFD.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._head = ""
        self._tail = ""
        self._dropped = 0  # characters between head and tail that were discarded
        self._total = 0

    def feed(self, data: bytes, final: bool = False) -> None:
        """Add a chunk of output; pass ``final=True`` once at the end to flush the decoder."""
        chunk = self._decoder.decode(data, final)
        self._total += len(chunk)
        room = self._limit - len(self._head)
        self._head += chunk[:room]
        self._tail += chunk[room:]
        if len(self._tail) > self._limit:
            self._dropped += len(self._tail) - self._limit
            self._tail = self._tail[-self._limit :]

    def text(self) -> str:
        """The captured output, middle elided if it exceeded the limit."""
        if self._total <= self._limit:
            return self._head + self._tail
        # Size the marker for the largest count it could show, so the result never exceeds limit.
        keep = max(self._limit - len(_marker(self._total)), 0)
        head_len = keep // 2
        tail_len = keep - head_len
        # Without drops head + tail is the whole output, so the tail may reach into the head.
        known_tail = self._tail if self._dropped else self._head + self._tail
        tail = known_tail[len(known_tail) - tail_len :] if tail_len else ""
        return self._head[:head_len] + _marker(self._total - head_len - tail_len) + tail


def _marker(elided: int) -> str:
    return f"\n[... {elided} characters elided ...]\n"
