"""Value types of the sandbox: the limits a run gets and the result it produces."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from podium.sandbox.report import failure_excerpt


class SandboxLimits(BaseModel):
    """Resource limits for one sandboxed run.

    Validated: every value is positive, and ``output_chars`` at least 100 so the elision marker
    fits. Frozen, so one instance can be shared as a default.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    wall_seconds: float = Field(default=60.0, gt=0)
    """Wall-clock budget; when it runs out the whole process group is killed."""
    cpu_seconds: int = Field(default=30, gt=0)
    """CPU time per process (RLIMIT_CPU); SIGXCPU at the limit, SIGKILL one second later."""
    memory_bytes: int = Field(default=1 << 30, gt=0)
    """Address space per process (RLIMIT_AS)."""
    file_size_bytes: int = Field(default=64 << 20, gt=0)
    """Largest file a process may write (RLIMIT_FSIZE)."""
    output_chars: int = Field(default=20_000, ge=100)
    """Characters of combined output kept: head and tail, the middle elided with a marker."""


class IsolationLevel(enum.StrEnum):
    """How strongly a run was isolated; recorded with every result."""

    BUBBLEWRAP = "bubblewrap"
    """Namespaces via bubblewrap (no network, read-only system, private /tmp) plus rlimits."""
    LIMITS_ONLY = "limits-only"
    """Only rlimits, a minimal environment and a fresh session: no filesystem or network
    isolation."""


@dataclass(frozen=True)
class TestRun:
    """The outcome of one sandboxed command.

    Guarantees: ``passed`` is true exactly when the command exited 0 and Podium did not stop it;
    when ``passed`` is false, ``tests_failed`` is at least 1.
    """

    __test__ = False  # not a pytest test class, despite the name

    passed: bool
    exit_code: int | None
    """Exit status; negative -N when killed by signal N (under bubblewrap too); None when Podium
    stopped the run at its wall-clock limit."""
    output: str
    """Combined stdout and stderr, truncated per the limits, followed by any ``[podium]`` notes."""
    duration_s: float
    stopped: str | None
    """None, or "timeout", "cpu-limit", "memory-limit" or "file-size-limit" (best effort)."""
    isolation: IsolationLevel
    tests_passed: int
    tests_failed: int

    def failure_excerpt(self, max_lines: int = 30) -> str:
        """Return at most ``max_lines`` lines that explain the failure to a model fixing the code.

        Podium's notes (such as the stop reason) come first, then the pytest failure details
        (headers, failing source lines, ``E`` lines, locations; doctest blocks whole), else the
        last Python traceback, else the end of the output. Empty when the run passed.
        """
        if self.passed:
            return ""
        return failure_excerpt(self.output, max_lines)
