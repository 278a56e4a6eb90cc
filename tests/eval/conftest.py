"""Shared helpers: problems by id, settings in a temporary folder, a recording oracle."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.config import Settings
from podium.eval import OracleProvider, Problem, select_problems
from podium.providers.base import Completion, CompletionRequest


def problem(number: int) -> Problem:
    return select_problems(ids=[str(number)])[0]


def module_with(p: Problem, body: str) -> str:
    """A whole answer: the prompt's code with ``body`` for the entry point's body."""
    return p.prompt + body


def fenced(code: str) -> str:
    return f"```python\n{code}```\n"


class RecordingOracle(OracleProvider):
    """The oracle, keeping every request it was sent (to check what the agents saw)."""

    def __init__(self, fault_rate: float, **kwargs: object) -> None:
        super().__init__(fault_rate, **kwargs)  # type: ignore[arg-type]
        self.requests: list[CompletionRequest] = []

    async def complete(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        return await super().complete(request)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "run" / "podium", test_timeout_s=30)
