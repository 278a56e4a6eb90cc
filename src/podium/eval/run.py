"""One evaluation run: the chosen problems in each chosen mode, resumable, then the report."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from podium.config import Settings
from podium.eval.oracle import OracleProvider
from podium.eval.pipeline import run_pipeline
from podium.eval.problems import Problem
from podium.eval.report import build_report, write_report
from podium.eval.results import (
    MODES,
    RUN_FILE,
    ProblemResult,
    ResultsFile,
    RunInfo,
    open_run,
)
from podium.eval.single import run_single
from podium.providers.base import Provider
from podium.services import TaskService

# Called when a mode starts (mode, problems, results already stored) and when a problem is scored.
OnStart = Callable[[str, int, Sequence[ProblemResult]], None]
OnResult = Callable[[ProblemResult], None]


@dataclass
class Evaluation:
    """Settings of a run. ``settings.home`` is where the pipeline's tasks live (their event
    log and workspaces); ``out`` holds run.json, results.jsonl and the report."""

    out: Path
    settings: Settings
    provider: Provider
    problems: Sequence[Problem]
    modes: Sequence[str] = MODES
    concurrency: int = 1
    command: str = ""

    def __post_init__(self) -> None:
        unknown = [m for m in self.modes if m not in MODES]
        if unknown or not self.modes:
            problem = f"unknown mode {unknown[0]!r}" if unknown else "no mode chosen"
            raise ValueError(f"{problem}; modes are {', '.join(MODES)}")
        if self.concurrency < 1:
            raise ValueError(f"the concurrency must be at least 1, got {self.concurrency}")

    def run_info(self) -> RunInfo:
        oracle = self.provider if isinstance(self.provider, OracleProvider) else None
        return RunInfo(run="", provider=self.provider.name, model=self.provider.model,
                       fault_rate=oracle.fault_rate if oracle else None,
                       seed=oracle.seed if oracle else 0)


def evaluate(evaluation: Evaluation, *, on_start: OnStart | None = None,
             on_result: OnResult | None = None, report_only: bool = False) -> dict[str, Any]:
    """Run every (mode, problem) that has no stored result yet, then write and return the
    report. Results are stored as they come, so an interrupted run loses at most the problems
    in flight; pipeline problems whose task had already ended are scored from its log.

    With ``report_only`` nothing runs: the report covers the problems already scored in every
    chosen mode and counts the others as unscored.
    """
    if report_only and not (evaluation.out / RUN_FILE).exists():
        raise ValueError(f"{evaluation.out} holds no evaluation run to report on")
    info = open_run(evaluation.out, evaluation.run_info())
    results_file = ResultsFile(evaluation.out)
    stored = results_file.load()
    for mode in [] if report_only else evaluation.modes:
        todo = [p for p in evaluation.problems if (mode, p.task_id) not in stored]
        if on_start:
            done = [stored[(mode, p.task_id)] for p in evaluation.problems
                    if (mode, p.task_id) in stored]
            on_start(mode, len(evaluation.problems), done)
        if not todo:
            continue
        service = TaskService(evaluation.settings, evaluation.provider) \
            if mode == "pipeline" else None
        try:
            for result in asyncio.run(_run_mode(evaluation, mode, todo, service, info.run,
                                                results_file, on_result)):
                stored[(mode, result.problem)] = result
        finally:
            if service is not None:
                service.close()
    scored = [p for p in evaluation.problems
              if all((m, p.task_id) in stored for m in evaluation.modes)]
    report = build_report(info, scored, evaluation.modes, stored, command=evaluation.command,
                          unscored=len(evaluation.problems) - len(scored))
    write_report(evaluation.out, report)
    return report


async def _run_mode(evaluation: Evaluation, mode: str, problems: Sequence[Problem],
                    service: TaskService | None, run: str, results_file: ResultsFile,
                    on_result: OnResult | None) -> list[ProblemResult]:
    gate = asyncio.Semaphore(evaluation.concurrency)
    oracle = evaluation.provider if isinstance(evaluation.provider, OracleProvider) else None

    async def one(problem: Problem) -> ProblemResult:
        async with gate:
            if service is None:
                result = await run_single(problem, evaluation.provider)
            else:
                result = await run_pipeline(problem, service, run)
            if oracle is not None:
                damage = await oracle.damage(problem)
                result = replace(result, damage=damage.kind, damage_detail=damage.detail,
                                 examples_catch=damage.examples_catch)
            results_file.append(result)
            if on_result:
                on_result(result)
            return result

    return list(await asyncio.gather(*(one(p) for p in problems)))
