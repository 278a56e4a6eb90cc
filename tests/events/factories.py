"""Small builders for events in tests."""

from __future__ import annotations

from typing import Any

from podium.events import VectorClock
from podium.events.types import (
    CodeGenerated,
    CodeGeneratedData,
    TaskCreated,
    TaskCreatedData,
    TestFailed,
    TestFailedData,
)


def created(task_id: str = "task-1", **envelope: Any) -> TaskCreated:
    data = TaskCreatedData(prompt="add two numbers", provider="scripted", model="scripted",
                           max_rounds=3, workspace="/tmp/ws")
    return TaskCreated(task_id=task_id, data=data, **envelope)


def code(version: int, *, task_id: str = "task-1", clock: dict[str, int] | None = None,
         code_hash: str | None = None, text: str = "x = 1\n", **envelope: Any) -> CodeGenerated:
    return CodeGenerated(
        task_id=task_id, code_version=version, code_hash=code_hash,
        vector_clock=VectorClock.of(clock or {"coder": version}),
        data=CodeGeneratedData(module="main", round=max(version, 1), path="main.py", code=text),
        **envelope,
    )


def failed(version: int, *, task_id: str = "task-1", clock: dict[str, int] | None = None,
           code_hash: str | None = None, **envelope: Any) -> TestFailed:
    return TestFailed(
        task_id=task_id, code_version=version, code_hash=code_hash,
        vector_clock=VectorClock.of(clock or {"coder": version, "tester": 1}),
        data=TestFailedData(module="main", round=max(version, 1), tests_passed=0, tests_failed=1,
                            excerpt="assert 1 == 2", duration_s=0.1),
        **envelope,
    )
