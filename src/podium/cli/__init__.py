"""The `podium` command: one typer app; each module adds the commands of one concern."""

from podium.cli import evaluate, providers, server, tasks  # noqa: F401  (each registers commands)
from podium.cli.app import app

__all__ = ["app"]
