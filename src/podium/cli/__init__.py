"""The `podium` command: one typer app; each module adds the commands of one concern."""

from podium.cli import tasks  # noqa: F401  (registers its commands)
from podium.cli.app import app

__all__ = ["app"]
