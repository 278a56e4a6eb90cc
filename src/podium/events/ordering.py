"""Deciding whether a report (bug report, test result) still describes the current code."""

from __future__ import annotations

from typing import Protocol

from podium.events.clock import VectorClock


class CodeStamped(Protocol):
    """Anything that says which code it is about: events, projection state."""

    @property
    def code_version(self) -> int: ...
    @property
    def vector_clock(self) -> VectorClock: ...
    @property
    def code_hash(self) -> str | None: ...


class OrderingError(ValueError):
    """The two stamps cannot both be true: history is inconsistent."""


def is_report_valid_for_current_code(report: CodeStamped, current: CodeStamped) -> bool:
    """True when ``report`` is about the code that is current now.

    Three checks, all applied:
    - version: a report about version N is stale once version N+1 exists;
    - clock: a report that causally precedes the current code was made before it existed;
    - hash: when both sides carry a code hash, they must match (the only check that can tell
      two same-version, concurrent stamps apart). A missing hash leaves version and clock.

    Raises OrderingError when the report claims a version newer than the current code.
    """
    if report.code_version > current.code_version:
        raise OrderingError(
            f"report is about code version {report.code_version}, "
            f"but the current code is version {current.code_version}"
        )
    if report.code_version < current.code_version:
        return False
    if report.vector_clock.happens_before(current.vector_clock):
        return False
    if report.code_hash is not None and current.code_hash is not None:
        return report.code_hash == current.code_hash
    return True
