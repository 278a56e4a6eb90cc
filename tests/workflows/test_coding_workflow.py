"""The coding workflow end to end, in process, on a real SQLite file and the real sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from podium.config import Settings
from podium.providers import ScriptedProvider
from podium.services import TaskService

TASK = "Write a function add(a, b) that returns the sum of two numbers"
TESTS = "from add import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
RIGHT = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Callable[..., TaskService]]:
    services: list[TaskService] = []

    def make(responses: dict[str, list[str]], **settings: object) -> TaskService:
        defaults: dict[str, object] = {"home": tmp_path / "home", "test_timeout_s": 20}
        service = TaskService(Settings(**(defaults | settings)), ScriptedProvider(responses))
        services.append(service)
        return service

    yield make
    for service in services:
        service.close()


def types_of(service: TaskService, task_id: str) -> list[str]:
    return [e.type for e in service.events(task_id)]


def test_each_bad_answer_is_caught_by_its_rule_and_the_task_completes(make_service) -> None:
    placeholder = "def add(a, b):\n    # ... rest of the code unchanged\n    return a\n"
    broken = "def add(a, b)\n    return a + b\n"
    wrong = "def add(a, b):\n    return a - b\n"
    service = make_service({"plan": ["no plan"], "code": [placeholder],
                            "fix": [broken, wrong, RIGHT]}, max_rounds=4)
    task_id = service.submit(TASK, tests=TESTS)
    assert service.wait(task_id) == "completed"

    events = service.events(task_id)
    violations = [e for e in events if e.type == "QUALITY_VIOLATION"]
    assert [v.data.violations[0].rule for v in violations] == ["dropped-placeholder", "syntax"]
    assert violations[0].data.violations[0].lines == [2]
    assert violations[1].data.violations[0].lines == [1]
    failed = [e for e in events if e.type == "TEST_FAILED"]
    assert len(failed) == 1 and "assert -1 == 5" in failed[0].data.excerpt
    corrections = [e.data.reason for e in events if e.type == "CORRECTION_STARTED"]
    assert corrections == ["quality", "quality", "tests"]
    assert types_of(service, task_id)[-2:] == ["MODULE_COMPLETE", "TASK_COMPLETE"]

    state = service.state(task_id)
    assert state.status == "completed"
    assert state.modules["add"].code == RIGHT and state.modules["add"].code_version == 4
    assert (service.workspace(task_id) / "add.py").read_text() == RIGHT
    assert state.llm_calls == 5  # plan + four rounds of code; the tests were supplied
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


def test_the_task_fails_after_the_last_round(make_service) -> None:
    zero = "def add(a, b):\n    return 0\n"
    service = make_service({"plan": ["x"], "code": [zero], "fix": [zero]}, max_rounds=2)
    task_id = service.submit(TASK, tests=TESTS)
    assert service.wait(task_id) == "failed"
    state = service.state(task_id)
    assert state.status == "failed" and "add" in state.reason
    assert types_of(service, task_id).count("TEST_FAILED") == 2


def test_a_model_that_returns_no_plan_gets_a_one_module_plan_that_says_so(make_service) -> None:
    service = make_service({"plan": ["I am not sure."], "code": [RIGHT]})
    task_id = service.submit(TASK, tests=TESTS)
    service.wait(task_id)
    plan = next(e for e in service.events(task_id) if e.type == "PLANNING_COMPLETE")
    assert plan.data.fallback and "no JSON" in plan.data.reason
    assert [m.name for m in plan.data.modules] == ["add"]
    assert plan.data.modules[0].interface == "def add(a, b)"


def test_a_valid_plan_with_two_modules_builds_both(make_service) -> None:
    plan = ('{"modules": [{"name": "units", "purpose": "conversion factors", "interface": '
            '"def factor(unit)"}, {"name": "convert", "purpose": "convert", "interface": '
            '"def convert(value, unit)"}]}')
    units = "def factor(unit):\n    return {'km': 1000, 'm': 1}[unit]\n"
    convert = ("from units import factor\n\n\ndef convert(value, unit):\n"
               "    return value * factor(unit)\n")
    tests = "from units import factor\n\n\ndef test_factor():\n    assert factor('km') == 1000\n"
    service = make_service({"plan": [plan], "code": [units, convert]})
    task_id = service.submit("Convert lengths to metres", tests=tests)
    assert service.wait(task_id) == "completed"
    state = service.state(task_id)
    assert list(state.modules) == ["units", "convert"]
    assert not state.plan_fallback
    assert sorted(state.files) == ["convert.py", "test_convert.py", "test_units.py", "units.py"]


def test_model_written_tests_are_used_and_ungrounded_asserts_dropped(make_service) -> None:
    tests = ("from add import add\n\ndef test_add():\n    assert add(a, b) == a + b\n"
             "    assert add(1, 2) == 3\n")
    service = make_service({"plan": ["x"], "tests": [tests], "code": [RIGHT]})
    task_id = service.submit(TASK)
    assert service.wait(task_id) == "completed"
    written = next(e for e in service.events(task_id) if e.type == "TESTS_WRITTEN")
    assert written.data.source == "agent"
    assert "add(a, b)" not in written.data.code and "add(1, 2) == 3" in written.data.code


def test_tests_the_coder_disputes_are_replaced_by_a_smoke_test(make_service) -> None:
    wrong_test = "from add import add\n\ndef test_add():\n    assert add(3, 2) == 6\n"
    service = make_service({"plan": ["x"], "tests": [wrong_test], "code": [RIGHT],
                            "fix": [RIGHT]})
    task_id = service.submit(TASK)
    assert service.wait(task_id) == "completed"
    written = [e for e in service.events(task_id) if e.type == "TESTS_WRITTEN"]
    assert [w.data.source for w in written] == ["agent", "smoke"]
    assert "disputed" in written[1].data.note


def test_task_examples_become_the_tests(make_service) -> None:
    task = 'def add(a, b):\n    """Add two numbers.\n    >>> add(2, 2)\n    4\n    """\n'
    body = task + "    return a + b\n"
    service = make_service({"plan": ["x"], "code": [body]})
    task_id = service.submit(task)
    assert service.wait(task_id) == "completed"
    written = next(e for e in service.events(task_id) if e.type == "TESTS_WRITTEN")
    assert written.data.source == "doctest" and "add(2, 2)" in written.data.code


def test_runaway_code_is_stopped_and_the_workflow_carries_on(make_service) -> None:
    forever = "def add(a, b):\n    while True:\n        pass\n"
    service = make_service({"plan": ["x"], "code": [forever], "fix": [RIGHT]},
                           test_timeout_s=8)
    task_id = service.submit(TASK, tests=TESTS)
    assert service.wait(task_id) == "completed"
    failed = next(e for e in service.events(task_id) if e.type == "TEST_FAILED")
    assert failed.data.stopped in {"timeout", "cpu-limit"}
    started = next(e for e in service.events(task_id) if e.type == "TEST_STARTED")
    assert started.data.isolation in {"bubblewrap", "limits-only"}


def test_submit_refuses_bad_input_and_stores_nothing(make_service) -> None:
    service = make_service({"code": [RIGHT]})
    with pytest.raises(ValueError, match="empty"):
        service.submit("   ")
    with pytest.raises(ValueError, match="100,000"):
        service.submit("x" * 100_001)
    with pytest.raises(ValueError, match="task_id"):
        service.submit(TASK, task_id="../escape")
    assert service.store.read_all() == []


def test_submitting_an_existing_task_id_again_starts_nothing_new(make_service) -> None:
    service = make_service({"plan": ["x"], "code": [RIGHT]})
    task_id = service.submit(TASK, tests=TESTS, task_id="same-task")
    service.wait(task_id)
    before = service.events(task_id)
    assert service.submit(TASK, tests=TESTS, task_id="same-task") == "same-task"
    assert service.wait(task_id) == "completed"
    assert service.events(task_id) == before


def test_a_model_that_fails_ends_the_task_with_the_reason(make_service) -> None:
    service = make_service({"plan": ["x"]})  # nothing scripted for "code"
    task_id = service.submit(TASK, tests=TESTS)
    assert service.wait(task_id) == "failed"
    state = service.state(task_id)
    assert state.status == "failed" and "no scripted response for purpose 'code'" in state.reason
