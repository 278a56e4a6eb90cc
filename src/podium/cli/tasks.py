"""`podium run`, `resume`, `events`, `replay`: running and inspecting coding tasks.

Thin: parse, call the task service, render. Exit codes: 0 the task completed, 1 the task
failed, 2 bad input.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from podium.cli.app import (
    EXIT_DONE,
    EXIT_FAILED,
    BadInput,
    HomeOption,
    JsonOption,
    app,
    console,
    fail,
    out,
    settings_from,
)
from podium.config import Settings
from podium.events import Event, TaskState
from podium.services import TaskNotFound, TaskReader, TaskService, parse_point


def _service(settings: Settings) -> TaskService:
    try:
        return TaskService(settings)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc


@app.command()
def run(
    task: Annotated[str, typer.Argument(help="what to build, in plain words")],
    tests: Annotated[Path | None, typer.Option(help="a pytest file the code must pass")] = None,
    provider: Annotated[str | None, typer.Option(
        help="embedded, openai, scripted, or a configured provider or deployment")] = None,
    model: Annotated[str | None, typer.Option(help="model name (or .gguf path)")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL")] = None,
    script: Annotated[Path | None, typer.Option(help="recorded responses (scripted)")] = None,
    max_rounds: Annotated[int | None, typer.Option(min=1, max=20, help="correction rounds")] = None,
    task_id: Annotated[str | None, typer.Option(help="choose the task id; running again "
                                                "with the same id continues that task")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a coding task to the end, showing progress; resumes interrupted tasks first."""
    try:
        tests_text = _read_tests(tests)
        settings = settings_from(provider=provider, model=model, openai_base_url=base_url,
                             script=script, max_rounds=max_rounds, home=home)
        service = _service(settings)
    except BadInput as exc:
        raise fail(str(exc)) from None
    try:
        interrupted = service.resume_interrupted()
        if interrupted and not as_json:
            console.print(f"resuming {len(interrupted)} interrupted task(s): "
                          f"{', '.join(interrupted)}")
        try:
            task_id = service.submit(task, tests=tests_text, task_id=task_id)
        except ValueError as exc:
            raise fail(str(exc)) from None
        _follow(service, task_id, as_json)
        state = service.state(task_id)
        if not as_json:
            _summary(service, state)
        raise typer.Exit(EXIT_DONE if state.status == "completed" else EXIT_FAILED)
    finally:
        service.close()


@app.command()
def resume(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Finish the tasks that were interrupted (crash, kill, power loss)."""
    service = _service(settings_from(home=home))
    try:
        interrupted = service.resume_interrupted()
        if not interrupted:
            console.print("no interrupted tasks")
        worst = EXIT_DONE
        for task_id in interrupted:
            _follow(service, task_id, as_json)
            state = service.state(task_id)
            if not as_json:
                _summary(service, state)
            worst = max(worst, EXIT_DONE if state.status == "completed" else EXIT_FAILED)
        raise typer.Exit(worst)
    finally:
        service.close()


@app.command()
def events(task_id: str, home: HomeOption = None,
           as_json: JsonOption = False) -> None:
    """Print a task's event log."""
    reader = TaskReader(settings_from(home=home))
    try:
        for event in reader.events(task_id):
            _print_event(event, as_json)
    except TaskNotFound as exc:
        raise fail(str(exc)) from None
    finally:
        reader.close()


@app.command()
def replay(
    task_id: str,
    at: Annotated[str, typer.Option(help="a seq number, or an ISO 8601 time with zone")],
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the state as JSON")] = False,
) -> None:
    """Show a task's state as it was at a point of its log (time travel)."""
    try:
        seq, moment = parse_point(at)
    except ValueError as exc:
        raise fail(str(exc)) from None
    reader = TaskReader(settings_from(home=home))
    try:
        state = reader.state(task_id, seq=seq, at=moment)
    except TaskNotFound as exc:
        raise fail(str(exc)) from None
    finally:
        reader.close()
    if as_json:
        out.print_json(json.dumps(state.to_dict()))
    else:
        _summary(None, state)


def _read_tests(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        text = path.read_text()
    except OSError as exc:
        raise BadInput(f"cannot read the tests file {path}: {exc.strerror}") from None
    if not text.strip():
        raise BadInput(f"the tests file {path} is empty")
    return text


# --- rendering --------------------------------------------------------------------------------


def _follow(service: TaskService, task_id: str, as_json: bool) -> None:
    async def follow() -> None:
        async for event in service.follow(task_id):
            _print_event(event, as_json)

    if not as_json:
        console.print(f"[bold]task[/bold] {task_id}  workspace {service.workspace(task_id)}")
    with console.status("working…", spinner="dots") if not as_json else _nothing():
        asyncio.run(follow())


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _print_event(event: Event, as_json: bool) -> None:
    if as_json:
        out.print(event.model_dump_json(), soft_wrap=True)
        return
    line = describe(event)
    if line:
        out.print(f"[dim]{event.seq:>4}[/dim] {line}")


def describe(event: Event) -> str | None:
    """One human line for an event; None for events too chatty to show."""
    d: Any = event.data
    match event.type:
        case "TASK_CREATED":
            return f"task created ({d.provider}/{d.model}, up to {d.max_rounds} rounds)"
        case "TASK_STARTED":
            return "started"
        case "TASK_RESUMED":
            return f"[yellow]resumed[/yellow] by {d.worker} after {d.idle_s:.1f} s interrupted"
        case "PLANNING_COMPLETE":
            names = ", ".join(m.name for m in d.modules)
            note = f" [yellow](one-module fallback: {d.reason})[/yellow]" if d.fallback else ""
            return f"[bold]plan[/bold]: {names}{note}"
        case "MODULE_STARTED":
            return f"[bold]module {d.module}[/bold]"
        case "TESTS_WRITTEN":
            return f"  tests {d.path} (from {d.source})"
        case "MODULE_ITERATION":
            return f"  round {d.round}"
        case "LLM_CALL":
            return f"    model {d.purpose}: {d.tokens_in}→{d.tokens_out} tokens, {d.latency_s:.1f}s"
        case "QUALITY_VIOLATION":
            rules = ", ".join(f"{v.rule} (line {','.join(map(str, v.lines)) or '-'})"
                              for v in d.violations)
            return f"    [yellow]rejected[/yellow]: {rules}"
        case "CODE_GENERATED":
            return f"    code {d.path} v{event.code_version} ({len(d.code.splitlines())} lines)"
        case "TEST_STARTED":
            return f"    testing ({d.isolation})"
        case "TEST_PASSED":
            return f"    [green]tests passed[/green] ({d.tests_passed})"
        case "TEST_FAILED":
            stopped = f", stopped: {d.stopped}" if d.stopped else ""
            return f"    [red]tests failed[/red] ({d.tests_failed} failed{stopped})"
        case "MODULE_COMPLETE":
            verdict = "[green]passed[/green]" if d.passed else "[red]failed[/red]"
            return f"  module {d.module} {verdict} after {d.rounds} round(s)"
        case "TASK_COMPLETE":
            return "[bold green]task complete[/bold green]"
        case "TASK_FAILED":
            return f"[bold red]task failed[/bold red]: {d.reason}"
        case "TASK_CANCELLED":
            return f"[bold yellow]task cancelled[/bold yellow]: {d.reason}"
    return None


def _summary(service: TaskReader | None, state: TaskState) -> None:
    table = Table(title=f"{state.task_id}: {state.status}", show_edge=False)
    for column in ("module", "status", "rounds", "code version", "tests"):
        table.add_column(column)
    for module in state.modules.values():
        test = module.last_test
        result = "-" if test is None else (
            f"{test.tests_passed} passed" if test.passed else f"{test.tests_failed} failed")
        table.add_row(module.name, module.status, str(module.rounds), str(module.code_version),
                      result)
    out.print(table)
    out.print(f"model calls {state.llm_calls}, tokens {state.tokens_in}→{state.tokens_out}, "
              f"model time {state.model_seconds:.1f}s, test time {state.test_seconds:.1f}s")
    if state.reason:
        out.print(f"reason: {state.reason}")
    if service is not None and state.task_id:
        out.print(f"workspace: {service.workspace(state.task_id)}")
        out.print(f"event log: podium events {state.task_id}")

