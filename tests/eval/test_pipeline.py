"""Scoring a pipeline task from its log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from podium.eval.pipeline import score_task
from podium.events.types import (
    TaskComplete,
    TaskCompleteData,
    TaskResumed,
    TaskResumedData,
    TaskStarted,
)
from tests.eval.conftest import problem
from tests.events.factories import code, created


async def test_time_spent_interrupted_is_not_counted_as_the_tasks_wall_time() -> None:
    solved = problem(0)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    at = [start + timedelta(seconds=s) for s in (0, 1, 101, 110, 131)]
    events = [created(timestamp=at[0]), TaskStarted(task_id="task-1", timestamp=at[1]),
              TaskResumed(task_id="task-1", timestamp=at[2],
                          data=TaskResumedData(worker="w2", idle_s=100)),
              code(1, text=solved.prompt + solved.canonical_solution, timestamp=at[3]),
              TaskComplete(task_id="task-1", timestamp=at[4],
                           data=TaskCompleteData(files=["main.py"], duration_s=130))]
    events = [e.model_copy(update={"seq": n, "position": n}) for n, e in enumerate(events, 1)]
    result = await score_task(solved, "task-1", events)
    assert result.passed, result.result
    assert result.wall_s == pytest.approx(30)  # 130 s from start to end, 100 of them idle
