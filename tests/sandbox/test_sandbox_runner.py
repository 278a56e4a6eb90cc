"""Real runs, at both isolation levels: results, limits, timeouts and process cleanup."""

import asyncio
import json
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest

from podium.sandbox import IsolationLevel, SandboxLimits, Workspace, run_in_sandbox, run_tests

SHORT = SandboxLimits(wall_seconds=20, cpu_seconds=10, memory_bytes=512 << 20)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:  # the process ended while we looked
            continue
    return found


def _zombie_children() -> list[int]:
    zombies = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if fields and fields[0] == "Z" and int(fields[1]) == os.getpid():
            zombies.append(int(entry.name))
    return zombies


async def _gone(marker: str) -> bool:
    """Whether no process carrying ``marker`` remains (SIGKILL delivery is not instantaneous)."""
    for _ in range(50):
        if not _processes_with(marker):
            return True
        await asyncio.sleep(0.1)
    return False


def _sleeper(marker: str) -> str:
    """Python source that starts a long-sleeping background process tagged with ``marker``."""
    return (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', "
        f"{marker!r}])\n"
    )


async def test_passing_module(workspace: Workspace, isolation: IsolationLevel) -> None:
    workspace.write(
        "calc.py", 'def add(a, b):\n    """\n    >>> add(1, 2)\n    3\n    """\n    return a + b\n'
    )
    workspace.write(
        "test_calc.py",
        "from calc import add\n\ndef test_add():\n"
        "    assert add(2, 2) == 4\n\ndef test_neg():\n    assert add(-1, 1) == 0\n",
    )

    result = await run_tests(workspace, SHORT, isolation)

    assert result.passed, result.output
    assert (result.exit_code, result.stopped) == (0, None)
    assert result.isolation is isolation
    assert (result.tests_passed, result.tests_failed) == (3, 0)  # two tests and one doctest
    assert result.failure_excerpt() == ""
    assert workspace.files() == ["calc.py", "test_calc.py"]  # no caches or bytecode left


async def test_failing_module_gives_an_excerpt_with_the_assertion(
    workspace: Workspace, isolation: IsolationLevel
) -> None:
    workspace.write("calc.py", "def add(a, b):\n    return a - b\n")
    workspace.write(
        "test_calc.py",
        "from calc import add\n\ndef test_zero():\n"
        "    assert add(0, 0) == 0\n\ndef test_add():\n    assert add(2, 2) == 4\n",
    )

    result = await run_tests(workspace, SHORT, isolation)

    assert not result.passed
    assert (result.exit_code, result.stopped) == (1, None)
    assert (result.tests_passed, result.tests_failed) == (1, 1)
    excerpt = result.failure_excerpt()
    assert "assert add(2, 2) == 4" in excerpt
    assert "assert 0 == 4" in excerpt
    assert "test_calc.py:7: AssertionError" in excerpt
    assert len(excerpt.splitlines()) <= 30


async def test_failing_doctest_is_collected(workspace: Workspace) -> None:
    workspace.write(
        "calc.py", 'def add(a, b):\n    """\n    >>> add(1, 2)\n    3\n    """\n    return a * b\n'
    )

    result = await run_tests(workspace, SHORT, IsolationLevel.LIMITS_ONLY)

    assert not result.passed
    assert (result.tests_passed, result.tests_failed) == (0, 1)
    excerpt = result.failure_excerpt()
    assert "Expected:" in excerpt
    assert "Got:" in excerpt


async def test_collection_error_counts_as_failure(workspace: Workspace) -> None:
    workspace.write("test_broken.py", "import not_a_module_anywhere\n")

    result = await run_tests(workspace, SHORT, IsolationLevel.LIMITS_ONLY)

    assert not result.passed
    assert result.tests_failed >= 1  # --doctest-modules collects the file a second time
    assert "No module named 'not_a_module_anywhere'" in result.failure_excerpt()


async def test_no_tests_collected_is_not_a_pass(workspace: Workspace) -> None:
    workspace.write("calc.py", "def add(a, b):\n    return a + b\n")

    result = await run_tests(workspace, SHORT, IsolationLevel.LIMITS_ONLY)

    assert not result.passed
    assert result.exit_code == 5
    assert (result.tests_passed, result.tests_failed) == (0, 1)
    assert "[podium] pytest collected no tests (exit code 5)" in result.output
    assert "collected no tests" in result.failure_excerpt()


async def test_pytest_ignores_configuration_above_the_workspace(
    tmp_path: Path, isolation: IsolationLevel
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --no-such-option\n")
    (tmp_path / "conftest.py").write_text("raise RuntimeError('parent conftest loaded')\n")
    workspace = Workspace.create(tmp_path, "task-1")
    workspace.write("pytest.ini", "[pytest]\npython_files = check_*.py\n")
    workspace.write("check_calc.py", "def test_ok():\n    assert True\n")

    result = await run_tests(workspace, SHORT, isolation)

    assert result.passed, result.output
    assert result.tests_passed == 1  # found through the workspace's own python_files


async def test_forever_loop_is_stopped_while_the_event_loop_keeps_running(
    workspace: Workspace, isolation: IsolationLevel
) -> None:
    marker = f"podium-sleeper-{uuid.uuid4().hex}"
    workspace.write(
        "test_loop.py",
        _sleeper(marker) + "\ndef test_forever():\n"
        "    print('looping', flush=True)\n    while True:\n        pass\n",
    )
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        result = await run_tests(workspace, SandboxLimits(wall_seconds=3), isolation)
    finally:
        ticker.cancel()

    assert result.stopped == "timeout"
    assert not result.passed
    assert result.exit_code is None
    assert result.tests_failed == 1
    assert result.duration_s < 30  # stopped by the 3-second limit, not after pytest's own timeout
    assert ticks >= 5  # the event loop was free while the child spun
    assert result.failure_excerpt().startswith("[podium] stopped: timeout")
    assert await _gone(marker)  # the whole process group died, background children included
    assert _zombie_children() == []


async def test_cpu_limit_stops_a_busy_loop(workspace: Workspace, isolation: IsolationLevel) -> None:
    workspace.write("test_spin.py", "def test_spin():\n    while True:\n        pass\n")

    result = await run_tests(workspace, SandboxLimits(wall_seconds=20, cpu_seconds=1), isolation)

    assert result.stopped == "cpu-limit"
    assert result.exit_code == -signal.SIGXCPU
    assert not result.passed
    assert "CPU time limit of 1s" in result.failure_excerpt()


async def test_unbounded_allocation_hits_the_memory_limit(
    workspace: Workspace, isolation: IsolationLevel
) -> None:
    workspace.write(
        "test_grow.py",
        "def test_grow():\n    chunks = []\n    while True:\n"
        "        chunks.append(bytearray(1 << 24))\n",
    )

    result = await run_tests(workspace, SandboxLimits(memory_bytes=256 << 20), isolation)

    assert result.stopped == "memory-limit"
    assert not result.passed
    assert "MemoryError" in result.failure_excerpt()


async def test_huge_file_hits_the_file_size_limit(
    workspace: Workspace, isolation: IsolationLevel
) -> None:
    workspace.write(
        "test_big.py",
        "def test_big():\n    with open('big.bin', 'wb') as f:\n"
        "        for _ in range(64):\n            f.write(bytes(1 << 20))\n",
    )
    limits = SandboxLimits(file_size_bytes=1 << 20)

    result = await run_tests(workspace, limits, isolation)

    assert result.stopped == "file-size-limit"
    assert "File too large" in result.failure_excerpt()
    assert (workspace.root / "big.bin").stat().st_size <= 1 << 20


async def test_file_size_signal_is_reported(
    workspace: Workspace, isolation: IsolationLevel
) -> None:
    # Unlike Python, dd does not ignore SIGXFSZ, so the limit arrives as a signal.
    argv = ["dd", "if=/dev/zero", "of=big.bin", "bs=1M", "count=8"]

    result = await run_in_sandbox(
        workspace, argv, SandboxLimits(file_size_bytes=1 << 20), isolation
    )

    assert result.stopped == "file-size-limit"
    assert result.exit_code == -signal.SIGXFSZ


async def test_parent_secrets_are_not_passed_on(
    workspace: Workspace, isolation: IsolationLevel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_TEST_API_KEY", "podium-secret-1")
    monkeypatch.setenv("PODIUM_TEST_TOKEN", "podium-secret-2")
    workspace.write("env.py", "import json, os\nprint(json.dumps(dict(os.environ)))\n")

    result = await run_in_sandbox(workspace, [sys.executable, "env.py"], SHORT, isolation)

    assert result.passed, result.output
    env = json.loads(result.output)
    assert "podium-secret" not in result.output
    assert not [name for name in env if name.endswith(("_KEY", "_TOKEN"))]
    assert env["PYTHONHASHSEED"] == "0"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["HOME"] != str(Path.home())


async def test_leftover_background_processes_are_killed_after_exit(
    workspace: Workspace, isolation: IsolationLevel
) -> None:
    marker = f"podium-sleeper-{uuid.uuid4().hex}"
    workspace.write("spawn.py", _sleeper(marker) + "print('spawned')\n")

    result = await run_in_sandbox(workspace, [sys.executable, "spawn.py"], SHORT, isolation)

    assert result.passed, result.output
    assert result.stopped is None
    assert result.duration_s < SHORT.wall_seconds  # returned when spawn.py exited, not at the limit
    assert result.output == "spawned\n"
    assert await _gone(marker)


async def test_long_output_keeps_head_and_tail(workspace: Workspace) -> None:
    workspace.write("loud.py", "print('A' * 50_000 + 'Z' * 50_000)\nraise SystemExit(3)\n")
    limits = SandboxLimits(output_chars=1_000)

    result = await run_in_sandbox(workspace, [sys.executable, "loud.py"], limits)

    assert result.exit_code == 3
    assert (result.passed, result.tests_failed) == (False, 1)
    assert len(result.output) <= 1_000
    assert result.output.startswith("AAAA")
    assert result.output.endswith("ZZZZ\n")
    assert "characters elided" in result.output


async def test_cancellation_kills_the_child(workspace: Workspace) -> None:
    marker = f"podium-sleeper-{uuid.uuid4().hex}"
    workspace.write("hang.py", f"import time\nprint({marker!r}, flush=True)\ntime.sleep(600)\n")
    argv = [sys.executable, "hang.py", marker]

    task = asyncio.create_task(run_in_sandbox(workspace, argv, SandboxLimits(wall_seconds=60)))
    for _ in range(100):
        if _processes_with(marker):
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await _gone(marker)
    assert _zombie_children() == []
