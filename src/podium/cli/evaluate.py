"""`podium eval humaneval`: the pipeline side by side with the bare model, on HumanEval.

Thin: parse, build the provider and the evaluation, show progress, print where the report is.
Exit codes: 0 the run finished (whatever the pass rate), 2 bad input.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from podium.cli.app import BadInput, app, console, fail, out, settings_from
from podium.config import Settings
from podium.eval import MODES, Evaluation, OracleProvider, ProblemResult, evaluate, select_problems
from podium.providers.base import Provider, ProviderError
from podium.services.tasks import build_provider

eval_app = typer.Typer(help="Measure Podium on public benchmarks.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

PROVIDERS = ("embedded", "openai", "scripted", "oracle")


@eval_app.command("humaneval")
def humaneval(
    limit: Annotated[int | None, typer.Option(min=1, help="the first N problems")] = None,
    problems: Annotated[str | None, typer.Option(help="problem ids, e.g. HumanEval/0,3,7")] = None,
    provider: Annotated[str, typer.Option(help="embedded, openai, scripted, or oracle (a "
                                          "mechanics check, see --fault-rate)")] = "embedded",
    model: Annotated[str | None, typer.Option(help="model name (or .gguf path)")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL")] = None,
    script: Annotated[Path | None, typer.Option(help="recorded responses (scripted)")] = None,
    modes: Annotated[str, typer.Option(help="single, pipeline or both")] = ",".join(MODES),
    concurrency: Annotated[int, typer.Option(min=1, help="problems in flight at once")] = 1,
    out_dir: Annotated[Path | None, typer.Option("--out", help="run folder (report, results, "
                                                 "tasks); rerun with it to resume")] = None,
    fault_rate: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="oracle only: "
                                                     "share of damaged answers (0.5)")] = None,
    seed: Annotated[int, typer.Option(help="oracle only: which answers are damaged")] = 0,
    max_rounds: Annotated[int | None, typer.Option(min=1, max=20,
                                                   help="correction rounds")] = None,
    report_only: Annotated[bool, typer.Option(help="run nothing: report on the problems "
                                              "the run has scored so far")] = False,
) -> None:
    """Run HumanEval in single mode (the bare model) and pipeline mode (Podium's tasks)."""
    folder = out_dir or Path(f"humaneval-{provider}")
    try:
        if provider not in PROVIDERS:
            raise BadInput(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
        if provider == "oracle" and fault_rate is None:
            fault_rate = 0.5
        chosen = select_problems(limit=limit, ids=problems.split(",") if problems else None)
        mode_list = [m.strip() for m in modes.split(",") if m.strip()]
        settings = settings_from(home=folder / "podium", max_rounds=max_rounds,
                                 **({} if provider == "oracle" else dict(
                                     provider=provider, model=model, openai_base_url=base_url,
                                     script=script)))
        chosen_provider = _provider(provider, settings, fault_rate, seed)
        command = _command({
            "--limit": limit, "--problems": problems, "--provider": provider, "--model": model,
            "--base-url": base_url, "--modes": modes, "--concurrency": concurrency,
            "--out": folder, "--fault-rate": fault_rate, "--max-rounds": max_rounds,
            "--seed": seed if provider == "oracle" else None})
        evaluation = Evaluation(out=folder, settings=settings, provider=chosen_provider,
                                problems=chosen, modes=mode_list, concurrency=concurrency,
                                command=command)
    except (BadInput, ValueError, ProviderError) as exc:
        raise fail(str(exc)) from None
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("passed {task.fields[passed]}"), TimeElapsedColumn(),
                  console=console) as progress:
        bars: dict[str, Any] = {}
        passed: dict[str, int] = {}

        def started(mode: str, total: int, done: Sequence[ProblemResult]) -> None:
            passed[mode] = sum(r.passed for r in done)
            bars[mode] = progress.add_task(mode, total=total, completed=len(done),
                                           passed=passed[mode])

        def scored(result: ProblemResult) -> None:
            passed[result.mode] += result.passed
            progress.update(bars[result.mode], advance=1, passed=passed[result.mode])

        try:
            report = evaluate(evaluation, on_start=started, on_result=scored,
                              report_only=report_only)
        except ValueError as exc:
            raise fail(str(exc)) from None
    _summary(report, folder)


def _provider(name: str, settings: Settings, fault_rate: float | None, seed: int) -> Provider:
    if name == "oracle":
        return OracleProvider(fault_rate or 0.0, seed=seed)
    if fault_rate is not None:
        raise BadInput("--fault-rate applies only to --provider oracle")
    return build_provider(settings)


def _command(options: dict[str, Any]) -> str:
    """The command that reproduces (or resumes) this run: the options that were set."""
    words = ["podium", "eval", "humaneval"]
    for flag, value in options.items():
        if value is not None:
            words += [flag, str(value)]
    return shlex.join(words)


def _summary(report: dict[str, Any], folder: Path) -> None:
    table = Table(title=f"HumanEval, {report['label']} ({report['problems']} problems)",
                  show_edge=False)
    table.add_column("")
    for mode in report["modes"]:
        table.add_column(mode)
    rows = (("pass@1", lambda s: f"{s['pass_at_1']:.1%}"),
            ("tokens in/out", lambda s: f"{s['tokens_in']}/{s['tokens_out']}"),
            ("wall s", lambda s: f"{s['wall_s']:.1f}"),
            ("model s", lambda s: f"{s['model_s']:.1f}"),
            ("tests s", lambda s: f"{s['test_s']:.1f}"),
            ("overhead", lambda s: f"{s['overhead_share']:.0%}"))
    for name, cell in rows:
        table.add_row(name, *(cell(s) for s in report["modes"].values()))
    out.print(table)
    out.print(f"report: {folder / 'report.md'} (also report.json, report.svg)")
