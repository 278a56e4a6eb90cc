"""The oracle provider: HumanEval's canonical solutions, damaged on purpose.

It checks the mechanics of the pipeline, not a model: how many damaged answers the quality
gate and the correction loop turn into passing solutions, and in how many rounds. Its results
are reported as "oracle mechanics" and never mixed with a model's.
"""

from __future__ import annotations

import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from podium.agents.testing import tests_file_name, tests_from_examples
from podium.eval import damage
from podium.eval.problems import Problem, all_problems
from podium.events.types import ModulePlan
from podium.providers.base import Completion, CompletionRequest, ProviderError
from podium.sandbox import SandboxLimits, Workspace, run_in_sandbox

NAME = "oracle"
MAX_OFF_BY_ONE_TRIES = 12
_EXAMPLE_LIMITS = SandboxLimits(wall_seconds=10.0, cpu_seconds=5)
_MODULE_IN_PROMPT = re.compile(r"module (\w+)\.py")


@dataclass(frozen=True)
class Damage:
    """What the oracle does to one problem's first answer.

    ``kind`` is None for a correct answer. For "off-by-one", ``examples_catch`` says whether
    the prompt's own ``>>>`` examples (the pipeline's tests) fail on the damaged code.
    """

    kind: str | None
    code: str
    detail: str = ""
    examples_catch: bool | None = None


class OracleProvider:
    """Answers as the benchmark's reference would, damaged at ``fault_rate``.

    Guarantees: which problems are damaged, and how, depends only on ``seed``, ``fault_rate``
    and the problem (the same on every run and in every order); a first answer (purpose
    "code") is damaged for those problems, a correction (purpose "fix") is always the canonical
    solution; an off-by-one change is one the prompt's examples catch whenever such a change
    exists among the first tries. The hidden tests are never read.
    """

    name = NAME
    model = "canonical-solutions"
    style = "chat"

    def __init__(self, fault_rate: float, *, seed: int = 0,
                 problems: Sequence[Problem] | None = None) -> None:
        if not 0.0 <= fault_rate <= 1.0:
            raise ValueError(f"the fault rate must be between 0 and 1, got {fault_rate}")
        self.fault_rate = fault_rate
        self.seed = seed
        self._problems = tuple(problems or all_problems())
        self._damage: dict[str, Damage] = {}

    def planned_kind(self, problem: Problem) -> str | None:
        """The damage drawn for ``problem`` (before any substitution), or None."""
        draw = random.Random(f"{self.seed}:{problem.task_id}")
        damaged = draw.random() < self.fault_rate
        kind = draw.choice(damage.KINDS)
        return kind if damaged else None

    async def damage(self, problem: Problem) -> Damage:
        """The first answer for ``problem``: computed once, then remembered."""
        if problem.task_id not in self._damage:
            self._damage[problem.task_id] = await self._make_damage(problem)
        return self._damage[problem.task_id]

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        problem = self._problem_in(request)
        if request.purpose == "plan":
            text = json.dumps({"modules": [{
                "name": problem.entry_point, "purpose": f"solve {problem.task_id}",
                "interface": _signature(problem)}]})
        elif request.purpose == "tests":
            text = _fenced(_smoke_tests(problem, request.prompt))
        elif request.purpose == "code":
            text = _fenced((await self.damage(problem)).code)
        elif request.purpose == "fix":
            text = _fenced(damage.correct_module(problem))
        else:
            raise ProviderError(NAME, f"no answer for purpose {request.purpose!r} (it answers "
                                      "plan, tests, code and fix)")
        return Completion(
            text=text, provider=NAME, model=self.model,
            tokens_in=len(request.system.split()) + len(request.prompt.split()),
            tokens_out=len(text.split()), latency_s=time.perf_counter() - started,
            finish_reason="stop")

    def _problem_in(self, request: CompletionRequest) -> Problem:
        """The problem whose prompt the request quotes (the longest, should one contain
        another)."""
        text = f"{request.system}\n{request.prompt}\n{request.prefill}"
        found = [p for p in self._problems if p.prompt.strip() in text]
        if not found:
            raise ProviderError(NAME, "the request quotes no HumanEval problem's prompt")
        return max(found, key=lambda p: len(p.prompt))

    async def _make_damage(self, problem: Problem) -> Damage:
        kind = self.planned_kind(problem)
        if kind is None:
            return Damage(kind=None, code=damage.correct_module(problem))
        if kind == damage.PLACEHOLDER:
            return Damage(kind=kind, code=damage.dropped_placeholder(problem))
        if kind == damage.SYNTAX:
            return Damage(kind=kind, code=damage.syntax_error(problem))
        if kind == damage.STUB:
            return Damage(kind=kind, code=damage.stub_body(problem))
        return await self._off_by_one(problem)

    async def _off_by_one(self, problem: Problem) -> Damage:
        candidates = list(damage.off_by_one_candidates(problem))[:MAX_OFF_BY_ONE_TRIES]
        if not candidates:
            return Damage(kind=damage.PLACEHOLDER, code=damage.dropped_placeholder(problem),
                          detail="no integer or comparison to change: a dropped placeholder "
                                 "instead")
        # Only examples that the canonical solution passes can tell a damaged one apart.
        canonical_fails = await _examples_fail(problem, damage.correct_module(problem))
        if canonical_fails is not False:
            description, code = candidates[0]
            return Damage(kind=damage.OFF_BY_ONE, code=code, examples_catch=False,
                          detail=f"{description} (the prompt has no examples that the "
                                 "canonical solution passes)")
        for description, code in candidates:
            if await _examples_fail(problem, code):
                return Damage(kind=damage.OFF_BY_ONE, code=code, detail=description,
                              examples_catch=True)
        description, code = candidates[0]
        return Damage(kind=damage.OFF_BY_ONE, code=code, examples_catch=False,
                      detail=f"{description} (none of the first {len(candidates)} changes "
                             "fails the prompt's examples)")


async def _examples_fail(problem: Problem, module_code: str) -> bool | None:
    """Whether the prompt's ``>>>`` examples fail on ``module_code``, run in the sandbox the
    way the pipeline runs them; None when the prompt has no usable examples."""
    plan = ModulePlan(name="solution")
    tests = tests_from_examples(problem.prompt, plan)
    if tests is None:
        return None
    test_file = tests_file_name(plan)
    with tempfile.TemporaryDirectory(prefix="podium-oracle-") as folder:
        workspace = Workspace(Path(folder))
        workspace.write("solution.py", module_code)
        workspace.write(test_file, tests)
        module = test_file.removesuffix(".py")
        run = await run_in_sandbox(workspace, [
            sys.executable, "-c", f"import {module}; {module}.test_examples_from_the_task()"],
            _EXAMPLE_LIMITS)
    return not run.passed


def _signature(problem: Problem) -> str:
    match = re.search(rf"def {re.escape(problem.entry_point)}\(.*?\)(?:\s*->[^:]+)?:",
                      problem.prompt, re.DOTALL)
    return match.group(0).rstrip(":") if match else f"def {problem.entry_point}(...)"


def _smoke_tests(problem: Problem, prompt: str) -> str:
    """The oracle knows the answer but not the tests: it checks only that the function exists
    (its behavioural tests would have to come from the hidden ones, which never leak)."""
    found = _MODULE_IN_PROMPT.search(prompt)
    module = found.group(1) if found else problem.entry_point
    name = problem.entry_point
    return (f"from {module} import {name}\n\n\ndef test_{name}_exists():\n"
            f"    assert callable({name})\n")


def _fenced(code: str) -> str:
    return f"```python\n{code}```\n"
