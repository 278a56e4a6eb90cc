"""Vector clocks: causal order between events written by different processes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import Field, RootModel

# Clocks are stored as JSON and compared in SQL, so a counter must fit a signed 64-bit integer.
MAX_COUNTER = 2**63 - 1

Counter = Annotated[int, Field(ge=0, le=MAX_COUNTER, strict=True)]


class VectorClock(RootModel[dict[str, Counter]]):
    """An immutable map from process id to a non-negative event counter.

    A process missing from the map counts as 0, so ``{"p1": 1}`` equals ``{"p1": 1, "p2": 0}``.
    Every operation returns a new clock; the receiver is never changed.
    """

    model_config = {"frozen": True}

    @classmethod
    def of(cls, counters: Mapping[str, int] | None = None) -> VectorClock:
        return cls(dict(counters or {}))

    def get(self, process: str) -> int:
        return self.root.get(process, 0)

    def tick(self, process: str) -> VectorClock:
        """The clock after ``process`` records one more event: its counter plus exactly 1."""
        if not process:
            raise ValueError("vector clock process id must be a non-empty string")
        value = self.get(process) + 1
        if value > MAX_COUNTER:
            raise OverflowError(f"vector clock counter for {process!r} would exceed {MAX_COUNTER}")
        return VectorClock({**self.root, process: value})

    def merge(self, other: VectorClock) -> VectorClock:
        """Element-wise maximum: what a process knows after receiving ``other``."""
        keys = self.root.keys() | other.root.keys()
        return VectorClock({k: max(self.get(k), other.get(k)) for k in sorted(keys)})

    def happens_before(self, other: VectorClock) -> bool:
        """True when every counter is <= the other's and at least one is smaller.

        Equal clocks, and two empty clocks, do not happen before each other.
        """
        keys = self.root.keys() | other.root.keys()
        not_after = all(self.get(k) <= other.get(k) for k in keys)
        strictly_before = any(self.get(k) < other.get(k) for k in keys)
        return not_after and strictly_before

    def concurrent(self, other: VectorClock) -> bool:
        """Neither happens before the other (this includes equal and empty clocks)."""
        return not self.happens_before(other) and not other.happens_before(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VectorClock):
            return NotImplemented
        keys = self.root.keys() | other.root.keys()
        return all(self.get(k) == other.get(k) for k in keys)

    def __hash__(self) -> int:
        return hash(frozenset((k, v) for k, v in self.root.items() if v))
