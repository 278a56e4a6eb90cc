"""`podium` as a user runs it: real subprocesses, a real SQLite file, the real sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from podium.cli.tasks import parse_point

TASK = "Write a function add(a, b) that returns the sum of two numbers"
RIGHT = "def add(a, b):\n    return a + b\n"
SLOW_TESTS = ("import time\n\nfrom add import add\n\n\ndef test_add():\n    time.sleep(4)\n"
              "    assert add(2, 3) == 5\n")


def podium(*args: str, cwd: Path, env: dict[str, str] | None = None,
           timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podium", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, env=env)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "script.json"
    tests = "from add import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    path.write_text(json.dumps({"plan": ["no plan"], "tests": [tests], "code": [RIGHT],
                                "fix": [RIGHT]}))
    return path


@pytest.fixture
def slow_tests(tmp_path: Path) -> Path:
    path = tmp_path / "test_add.py"
    path.write_text(SLOW_TESTS)
    return path


def read_log(tmp_path: Path, task_id: str) -> list[dict]:
    result = podium("events", task_id, "--json", "--home", "home", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def assert_whole_log(events: list[dict]) -> None:
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert len({e["event_id"] for e in events}) == len(events)
    counts = {t: sum(e["type"] == t for e in events) for t in {e["type"] for e in events}}
    for once in ("TASK_CREATED", "TASK_STARTED", "PLANNING_COMPLETE", "TESTS_WRITTEN",
                 "CODE_GENERATED", "TEST_STARTED", "TEST_PASSED", "TASK_COMPLETE"):
        assert counts.get(once) == 1, (once, counts)
    assert events[-1]["type"] == "TASK_COMPLETE"


def start_and_kill_during_tests(tmp_path: Path, script: Path, tests: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "podium", "run", TASK, "--provider", "scripted", "--script",
         str(script), "--tests", str(tests), "--task-id", "killed", "--home", "home", "--json"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True,
    )
    for line in proc.stdout:
        if json.loads(line)["type"] == "TEST_STARTED":
            break
    os.killpg(proc.pid, signal.SIGKILL)  # the process and its sandboxed test run
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_mid_task_then_resume_completes_with_a_whole_log(tmp_path, script, slow_tests):
    start_and_kill_during_tests(tmp_path, script, slow_tests)
    before = read_log(tmp_path, "killed")
    assert before[-1]["type"] == "TEST_STARTED"

    result = podium("resume", "--home", "home", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    events = read_log(tmp_path, "killed")
    assert events[: len(before)] == before  # nothing stored before the kill changed
    assert_whole_log(events)
    # The log says where the task was interrupted and who took it over.
    (resumed,) = [e for e in events if e["type"] == "TASK_RESUMED"]
    assert resumed["seq"] == len(before) + 1
    started = next(e for e in events if e["type"] == "TASK_STARTED")
    assert resumed["data"]["worker"] != started["data"]["worker"]
    assert resumed["data"]["idle_s"] > 0
    shown = podium("events", "killed", "--home", "home", cwd=tmp_path).stdout
    assert "resumed by " in shown and " s interrupted" in shown


def test_running_the_same_task_id_again_resumes_it(tmp_path, script, slow_tests):
    start_and_kill_during_tests(tmp_path, script, slow_tests)
    result = podium("run", TASK, "--provider", "scripted", "--script", str(script), "--tests",
                    str(slow_tests), "--task-id", "killed", "--home", "home", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "resuming 1 interrupted task(s): killed" in result.stderr
    assert_whole_log(read_log(tmp_path, "killed"))


def test_run_shows_progress_and_a_summary_then_replay_travels_back(tmp_path, script):
    result = podium("run", TASK, "--provider", "scripted", "--script", str(script),
                    "--task-id", "shown", "--home", "home", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for expected in ("plan", "module add", "round 1", "tests passed", "task complete",
                     "shown: completed", "workspace:", "podium events shown"):
        assert expected in result.stdout
    assert (tmp_path / "home" / "workspaces" / "shown" / "add.py").read_text() == RIGHT

    replay = podium("replay", "shown", "--at", "4", "--json", "--home", "home", cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr
    state = json.loads(replay.stdout)
    assert state["last_seq"] == 4 and state["status"] == "running"
    later = podium("replay", "shown", "--at", "2999-01-01T00:00:00Z", "--json", "--home", "home",
                   cwd=tmp_path)
    assert json.loads(later.stdout)["status"] == "completed"


def test_a_failed_task_exits_1(tmp_path):
    script = tmp_path / "wrong.json"
    wrong = "def add(a, b):\n    return a - b\n"
    script.write_text(json.dumps({"plan": ["x"], "code": [wrong], "fix": [wrong]}))
    tests = tmp_path / "test_add.py"
    tests.write_text("from add import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    result = podium("run", TASK, "--provider", "scripted", "--script", str(script), "--tests",
                    str(tests), "--max-rounds", "1", "--home", "home", "--json", cwd=tmp_path)
    assert result.returncode == 1
    last = json.loads(result.stdout.splitlines()[-1])
    assert last["type"] == "TASK_FAILED"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "   ", "--provider", "scripted", "--script", "script.json"], "prompt is empty"),
        (["run", TASK, "--tests", "missing.py"], "cannot read the tests file"),
        (["run", TASK, "--task-id", "a/b", "--provider", "scripted", "--script", "script.json"],
         "task_id"),
        (["run", TASK, "--provider", "nonsense"], "provider"),
        (["run", TASK, "--provider", "scripted"], "script"),
        (["events", "nope", "--home", "home"], "no task with id 'nope'"),
        (["replay", "nope", "--at", "3", "--home", "home"], "no task with id 'nope'"),
        (["replay", "x", "--at", "yesterday"], "neither a seq number nor an ISO 8601 time"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(tmp_path, script, args, message):
    result = podium(*args, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in " ".join(result.stderr.split())


def test_a_secret_in_the_config_file_is_refused(tmp_path):
    (tmp_path / "podium.toml").write_text('openai_api_key = "sk-oops"\n')
    result = podium("run", TASK, cwd=tmp_path)
    assert result.returncode == 2
    assert "PODIUM_OPENAI_API_KEY" in result.stderr


def test_config_file_and_environment_both_apply(tmp_path, script):
    (tmp_path / "podium.toml").write_text(f'provider = "scripted"\nscript = "{script}"\n'
                                          'home = "from-file"\n')
    env = os.environ | {"PODIUM_HOME": str(tmp_path / "from-env")}
    result = podium("run", TASK, "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-env" / "podium.db").exists()
    assert not (tmp_path / "from-file").exists()


def test_parse_point() -> None:
    assert parse_point("12") == (12, None)
    seq, moment = parse_point("2024-05-01T10:00:00+00:00")
    assert seq is None and moment.year == 2024
    with pytest.raises(ValueError, match="time zone"):
        parse_point("2024-05-01T10:00:00")


def test_the_embedded_model_completes_a_trivial_task(tmp_path):
    result = podium("run", TASK, "--home", "home", "--json", cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["type"] == "TASK_COMPLETE"
    calls = [e for e in events if e["type"] == "LLM_CALL"]
    assert calls and all(c["data"]["provider"] == "embedded" for c in calls)
    assert all(c["data"]["tokens_out"] > 0 for c in calls)
