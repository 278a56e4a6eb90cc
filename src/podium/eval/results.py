"""What an evaluation run keeps on disk: its identity (run.json) and one line per scored
problem (results.jsonl), so an interrupted run continues where it stopped."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

RUN_FILE = "run.json"
RESULTS_FILE = "results.jsonl"
MODES = ("single", "pipeline")


@dataclass
class ProblemResult:
    """One problem scored in one mode. Times are seconds; ``passed`` is the hidden tests'
    verdict. Pipeline-only fields keep their defaults in single mode."""

    mode: str
    problem: str
    passed: bool
    result: str  # the harness's words: "passed", "timed out", "failed: ..."
    completion: str = ""  # what was scored: the text that followed the prompt
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0
    model_s: float = 0.0
    test_s: float = 0.0  # the agents' own test runs, not the hidden tests
    llm_calls: int = 0
    status: str = "answered"  # pipeline: the task's status, "completed" or "failed"
    task_id: str | None = None
    rounds: int = 0
    corrections: int = 0
    tests_source: str | None = None  # where the pipeline's tests came from
    first_rejection: str | None = None  # the rule, or TEST_FAILED, that first sent it back
    quality_rules: list[str] = field(default_factory=list)
    tests_failed: int = 0
    damage: str | None = None  # oracle only: the damage in the first answer
    damage_detail: str = ""
    examples_catch: bool | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProblemResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class RunInfo:
    """The identity of a run: resuming it with another provider, model or fault rate would
    mix results, so it is refused."""

    run: str
    provider: str
    model: str
    fault_rate: float | None = None
    seed: int = 0
    created: str = ""

    def check_same(self, other: RunInfo) -> None:
        for name in ("provider", "model", "fault_rate", "seed"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                raise ValueError(f"the output folder holds a run with {name} {mine!r}, not "
                                 f"{theirs!r}; choose another --out to start a new run")


def open_run(out: Path, wanted: RunInfo) -> RunInfo:
    """The run stored in ``out`` (checked against ``wanted``), or ``wanted`` recorded there
    under a new run id."""
    path = out / RUN_FILE
    if path.exists():
        try:
            stored = RunInfo(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path} is not a run description: {exc}") from exc
        stored.check_same(wanted)
        return stored
    out.mkdir(parents=True, exist_ok=True)
    info = RunInfo(**{**asdict(wanted), "run": uuid.uuid4().hex[:8],
                      "created": datetime.now(UTC).isoformat(timespec="seconds")})
    path.write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
    return info


class ResultsFile:
    """results.jsonl: appended and synced one line per scored problem.

    A line cut short by a crash is ignored on reading; a later line for the same mode and
    problem replaces an earlier one.
    """

    def __init__(self, out: Path) -> None:
        self.path = out / RESULTS_FILE

    def load(self) -> dict[tuple[str, str], ProblemResult]:
        found: dict[tuple[str, str], ProblemResult] = {}
        if not self.path.exists():
            return found
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                result = ProblemResult.from_dict(json.loads(line))
            except (ValueError, TypeError):
                continue  # the torn last line of an interrupted run
            found[(result.mode, result.problem)] = result
        return found

    def append(self, result: ProblemResult) -> None:
        with self.path.open("a+b") as handle:  # writes go to the end, wherever we read
            # A line torn by a crash stays on its own line, so this one is not glued to it.
            line = ("\n" if _ends_torn(handle) else "") + json.dumps(asdict(result)) + "\n"
            handle.write(line.encode())
            handle.flush()
            os.fsync(handle.fileno())


def _ends_torn(handle: BinaryIO) -> bool:
    size = handle.seek(0, os.SEEK_END)
    if size == 0:
        return False
    handle.seek(size - 1)
    return handle.read(1) != b"\n"
