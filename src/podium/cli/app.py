"""The typer app every command module registers on, and what those modules share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from podium.config import Settings
from podium.logs import configure_logging

app = typer.Typer(help="Podium: plans coding tasks, has models write the code, tests it, "
                       "corrects it, and keeps a replayable log of everything.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def _log_warnings_to_stderr() -> None:
    # Library log lines must not mix with results on stdout (`--json`, MCP over stdio);
    # `podium serve` sets its own level.
    configure_logging(level="warning")


console = Console(stderr=True)  # progress and messages
out = Console(highlight=False)  # results, so they can be piped

EXIT_DONE, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

HomeOption = Annotated[Path | None, typer.Option("--home", help="Podium's data folder "
                                                 "(database and workspaces); default .podium")]
JsonOption = Annotated[bool, typer.Option("--json", help="print events as JSON lines")]


class BadInput(Exception):
    """Input the user must fix; printed without a traceback, exit code 2."""


def settings_from(**overrides: Any) -> Settings:
    """Settings from the file and environment, with the command line's options on top."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except (ValidationError, ValueError) as exc:
        raise BadInput(f"invalid configuration: {exc}") from exc


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(EXIT_BAD_INPUT)
