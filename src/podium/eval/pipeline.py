"""Pipeline mode: each problem is a Podium task, run through the same services as the CLI.

The agents see only the HumanEval prompt (the stub with its docstring and examples). Once the
task has ended, its delivered module is read back from the event log and scored with the
hidden tests. A task that had already ended (an earlier, interrupted run) is scored from its
log without running again.
"""

from __future__ import annotations

import ast
import asyncio

from podium.eval.problems import Problem
from podium.eval.results import ProblemResult
from podium.eval.scoring import score
from podium.events import Event, TaskState, project
from podium.services import TaskService


def task_id_for(run: str, problem: Problem) -> str:
    return f"he-{run}-{problem.slug}"


async def run_pipeline(problem: Problem, service: TaskService, run: str) -> ProblemResult:
    """Submit the problem's task (unless it exists), wait for its end, score what it
    delivered."""
    task_id = task_id_for(run, problem)
    if not (service.store.version(task_id) and service.is_finished(task_id)):
        # DBOS refuses its blocking calls inside an event loop: they run in a worker thread.
        await asyncio.to_thread(_submit_and_wait, service, problem.prompt, task_id)
    return await score_task(problem, task_id, service.events(task_id))


def _submit_and_wait(service: TaskService, prompt: str, task_id: str) -> None:
    service.submit(prompt, task_id=task_id)  # starts nothing for a task that exists
    service.wait(task_id)


async def score_task(problem: Problem, task_id: str, events: list[Event]) -> ProblemResult:
    """Score a finished task from its events: the module defining the entry point is the
    solution; the task's other modules sit beside it so its imports work."""
    state = project(events)
    solution, others = _solution(state, problem.entry_point)
    completion = "" if solution is None else "\n" + solution
    if solution is None:
        passed = False
        result = f"failed: the task delivered no module defining {problem.entry_point}()"
    else:
        verdict = await score(problem, completion, other_files=others)
        passed, result = verdict.passed, verdict.result
    # Time spent interrupted (until another process resumed the task) is not the task's.
    wall = ((state.finished_at - state.started_at).total_seconds() - state.idle_seconds
            if state.finished_at and state.started_at else 0.0)
    rejections = [e for e in events if e.type in ("QUALITY_VIOLATION", "TEST_FAILED")]
    rules = [v.rule for e in events if e.type == "QUALITY_VIOLATION" for v in e.data.violations]
    sources = [e.data.source for e in events if e.type == "TESTS_WRITTEN"]
    rounds = max((m.rounds for m in state.modules.values()), default=0)
    return ProblemResult(
        mode="pipeline", problem=problem.task_id, passed=passed, result=result,
        completion=completion,
        tokens_in=state.tokens_in, tokens_out=state.tokens_out, cost_usd=state.cost_usd,
        wall_s=wall, model_s=state.model_seconds, test_s=state.test_seconds,
        llm_calls=state.llm_calls, status=state.status, task_id=task_id, rounds=rounds,
        corrections=state.corrections, tests_source=sources[-1] if sources else None,
        first_rejection=_rejection_name(rejections[0]) if rejections else None,
        quality_rules=rules, tests_failed=sum(e.type == "TEST_FAILED" for e in events))


def _rejection_name(event: Event) -> str:
    if event.type == "TEST_FAILED":
        return "TEST_FAILED"
    return event.data.violations[0].rule


def _solution(state: TaskState, entry_point: str) -> tuple[str | None, dict[str, str]]:
    codes = {m.path: m.code for m in state.modules.values() if m.path and m.code}
    solution = next((path for path, code in codes.items() if _defines(code, entry_point)), None)
    if solution is None:
        return None, {}
    return codes.pop(solution), codes


def _defines(code: str, name: str) -> bool:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name
               for n in tree.body)
