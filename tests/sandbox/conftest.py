"""Fixtures for the sandbox tests: a fresh workspace and the isolation levels to exercise."""

from pathlib import Path

import pytest

from podium.sandbox import IsolationLevel, Workspace, detect_isolation


def _require_bubblewrap() -> None:
    if detect_isolation() is not IsolationLevel.BUBBLEWRAP:
        pytest.skip("bubblewrap is not usable on this host")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path, "task-1")


@pytest.fixture(params=list(IsolationLevel), ids=lambda level: level.value)
def isolation(request: pytest.FixtureRequest) -> IsolationLevel:
    """Each isolation level in turn, passed explicitly to the run."""
    if request.param is IsolationLevel.BUBBLEWRAP:
        _require_bubblewrap()
    return request.param


@pytest.fixture
def bubblewrap() -> IsolationLevel:
    """BUBBLEWRAP, for tests of guarantees that only bubblewrap gives."""
    _require_bubblewrap()
    return IsolationLevel.BUBBLEWRAP
