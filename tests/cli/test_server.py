"""`podium serve` and `podium keys` as a user runs them: real subprocesses on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from podium.cli import app
from tests.api.conftest import SCRIPT, TASK, WAIT_S, podium_serve, slow_tests, wait_until

# uvicorn shuts down on SIGTERM, then ends the process with the signal it received.
ENDED_BY_SIGTERM = (0, -signal.SIGTERM)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    return path


def events(url: str, task_id: str) -> list[dict]:
    return httpx.get(f"{url}/v1/tasks/{task_id}/events", params={"limit": 1000},
                     timeout=30).json()["events"]


def cli(*args: str) -> Result:
    """The `podium` command in this process (these commands start no engine)."""
    return CliRunner().invoke(app, list(args))


def test_keys_are_created_listed_and_revoked(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    created = cli("keys", "create", "--scope", "tasks:read,tasks:write", "--tenant", "acme",
                  "--name", "ci", "--home", home)
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("pod_") and "shown once" in created.stderr
    listed = cli("keys", "list", "--json", "--home", home)
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["tenant"] == "acme" and row["scopes"] == ["tasks:read", "tasks:write"]
    assert row["revoked_at"] is None and secret not in listed.stdout
    assert secret.split("_")[1] == row["key_id"]
    assert cli("keys", "revoke", row["key_id"], "--home", home).exit_code == 0
    relisted = cli("keys", "list", "--json", "--home", home)
    assert json.loads(relisted.stdout)["revoked_at"] is not None
    unknown = cli("keys", "revoke", "nope", "--home", home)
    assert unknown.exit_code == 2 and "no API key with id 'nope'" in unknown.stderr
    bad = cli("keys", "create", "--scope", "root", "--home", home)
    assert bad.exit_code == 2 and "tasks:read, tasks:write, admin" in bad.stderr


def test_serve_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    result = cli("serve", "--host", "0.0.0.0", "--home", str(tmp_path / "home"))
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert "refusing to listen on 0.0.0.0 without API keys" in message
    assert "--allow-no-auth" in message


def test_shutdown_lets_running_work_finish_within_the_grace_period(tmp_path: Path,
                                                                    script: Path) -> None:
    with podium_serve(tmp_path, script, "--grace", "60") as (url, proc):
        task_id = httpx.post(f"{url}/v1/tasks", json={"prompt": TASK, "tests": slow_tests(2)},
                             timeout=30).json()["task_id"]
        wait_until(lambda: "TEST_STARTED" in [e["type"] for e in events(url, task_id)],
                   "the task's tests to start")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT_S) in ENDED_BY_SIGTERM
    with podium_serve(tmp_path, script) as (url, _proc):
        assert events(url, task_id)[-1]["type"] == "TASK_COMPLETE"


def test_a_restart_resumes_what_was_running(tmp_path: Path, script: Path) -> None:
    with podium_serve(tmp_path, script, "--grace", "0") as (url, proc):
        task_id = httpx.post(f"{url}/v1/tasks", json={"prompt": TASK, "tests": slow_tests(3)},
                             timeout=30).json()["task_id"]
        wait_until(lambda: "TEST_STARTED" in [e["type"] for e in events(url, task_id)],
                   "the task's tests to start")
        before = events(url, task_id)
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert proc.wait(timeout=WAIT_S) in ENDED_BY_SIGTERM
        assert time.monotonic() - started < WAIT_S
    with podium_serve(tmp_path, script) as (url, _proc):
        wait_until(lambda: events(url, task_id)[-1]["type"] == "TASK_COMPLETE",
                   "the resumed task to complete")
        log = events(url, task_id)
    assert log[: len(before)] == before or log[: len(before) - 1] == before[:-1]
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    assert len({e["event_id"] for e in log}) == len(log)
    assert [e["type"] for e in log].count("TASK_STARTED") == 1


def counted_slow_tests(seconds: float) -> str:
    """Tests that add a line to runs.txt in the workspace each time they run, then pass after
    ``seconds``: a task whose tests ran twice has two lines."""
    return (f"import time\n\nfrom add import add\n\n\ndef test_add():\n"
            f"    with open('runs.txt', 'a') as runs:\n        runs.write('ran\\n')\n"
            f"    time.sleep({seconds})\n    assert add(2, 3) == 5\n")


def test_serve_and_run_on_one_home_never_run_one_task_twice(tmp_path: Path,
                                                            script: Path) -> None:
    with podium_serve(tmp_path, script) as (url, _proc):
        task_id = httpx.post(f"{url}/v1/tasks", json={"prompt": TASK,
                                                      "tests": counted_slow_tests(4)},
                             timeout=30).json()["task_id"]
        wait_until(lambda: "TEST_STARTED" in [e["type"] for e in events(url, task_id)],
                   "the server's task to start its tests")
        # A second process on the same home: it must leave the server's live task alone.
        (tmp_path / "test_add.py").write_text(slow_tests(0))
        run = subprocess.run(
            [sys.executable, "-m", "podium", "run", TASK, "--provider", "scripted", "--script",
             str(script), "--tests", "test_add.py", "--home", "home", "--json"],
            cwd=tmp_path, capture_output=True, text=True, timeout=WAIT_S)
        assert run.returncode == 0, run.stderr
        wait_until(lambda: events(url, task_id)[-1]["type"] == "TASK_COMPLETE",
                   "the server's task to complete")
        workspace = httpx.get(f"{url}/v1/tasks/{task_id}/files/runs.txt", timeout=30)
    assert workspace.text == "ran\n"  # its tests ran once
    assert json.loads(run.stdout.splitlines()[-1])["type"] == "TASK_COMPLETE"


def test_a_live_server_takes_over_the_task_of_a_killed_run(tmp_path: Path,
                                                           script: Path) -> None:
    with podium_serve(tmp_path, script) as (url, _proc):
        (tmp_path / "test_add.py").write_text(counted_slow_tests(2))
        run = subprocess.Popen(
            [sys.executable, "-m", "podium", "run", TASK, "--provider", "scripted", "--script",
             str(script), "--tests", "test_add.py", "--task-id", "killed", "--home", "home",
             "--json"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True)
        assert run.stdout is not None
        for line in run.stdout:
            if json.loads(line)["type"] == "TEST_STARTED":
                break
        os.killpg(run.pid, signal.SIGKILL)  # the run and its sandboxed tests
        run.wait()
        # No restart: the server's heartbeat notices the run is gone and resumes its task.
        wait_until(lambda: events(url, "killed")[-1]["type"] == "TASK_COMPLETE",
                   "the server to finish the killed run's task")
        log = events(url, "killed")
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    assert len({e["event_id"] for e in log}) == len(log)
    assert [e["type"] for e in log].count("TASK_STARTED") == 1
