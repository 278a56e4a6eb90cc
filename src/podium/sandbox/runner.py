"""Running commands and tests in a workspace under resource limits and, when possible, bwrap."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from podium.sandbox.isolation import bubblewrap_command, detect_isolation
from podium.sandbox.models import IsolationLevel, SandboxLimits, TestRun
from podium.sandbox.output import OutputBuffer
from podium.sandbox.report import NOTE_PREFIX, parse_pytest_summary
from podium.sandbox.workspace import Workspace

_DEFAULT_LIMITS = SandboxLimits()
_DRAIN_S = 5.0  # after the kill, how long to wait for output still in flight
_SIGNAL_STOPS: dict[int, str] = {signal.SIGXCPU: "cpu-limit", signal.SIGXFSZ: "file-size-limit"}
_SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
_PYTEST_NO_TESTS = 5
# pytest's own search order; the marker tells whether the file configures pytest at all.
_PYTEST_CONFIGS = (
    ("pytest.ini", ""),
    (".pytest.ini", ""),
    ("pyproject.toml", "[tool.pytest"),
    ("tox.ini", "[pytest]"),
    ("setup.cfg", "[tool:pytest]"),
)

_RLimits = list[tuple[int, tuple[int, int]]]


async def run_in_sandbox(
    workspace: Workspace,
    argv: list[str],
    limits: SandboxLimits = _DEFAULT_LIMITS,
    isolation: IsolationLevel | None = None,
) -> TestRun:
    """Run ``argv`` with the workspace as working directory and return what happened.

    Guarantees: the event loop is never blocked; the child gets CPU, address-space and file-size
    rlimits, a fresh session, no stdin and a minimal environment (no secrets from ours); after
    ``limits.wall_seconds`` its whole process group is killed and the output read so far is kept;
    when this returns or is cancelled, the group has been killed and the child reaped.
    ``isolation`` defaults to ``detect_isolation()``; BUBBLEWRAP adds the namespaces described in
    ``bubblewrap_command``. Raises OSError if the command cannot be started.
    """
    if not argv:
        raise ValueError("argv must name a command")
    level = isolation if isolation is not None else await asyncio.to_thread(detect_isolation)
    with contextlib.ExitStack() as stack:
        if level is IsolationLevel.BUBBLEWRAP:
            command, home = bubblewrap_command(workspace.root, argv), "/tmp"  # a private tmpfs
        else:
            # Throwaway HOME so tools writing dotfiles touch neither our home nor the workspace.
            scratch = tempfile.TemporaryDirectory(prefix="podium-home-", ignore_cleanup_errors=True)
            command, home = list(argv), stack.enter_context(scratch)
        returncode, timed_out, output, duration = await _execute(
            command, workspace.root, _child_env(home), limits
        )
    if level is IsolationLevel.BUBBLEWRAP and 128 < returncode < 128 + signal.NSIG:
        returncode = 128 - returncode  # bwrap reports death by signal N as 128 + N
    exit_code = None if timed_out else returncode
    passed = exit_code == 0
    stopped = _stop_reason(exit_code, timed_out, output)
    if stopped:
        output = _with_note(output, f"stopped: {stopped} ({_explain(stopped, limits)})")
    tests_passed, tests_failed = parse_pytest_summary(output) or (0, 0)
    return TestRun(
        passed=passed,
        exit_code=exit_code,
        output=output,
        duration_s=duration,
        stopped=stopped,
        isolation=level,
        tests_passed=tests_passed,
        tests_failed=tests_failed if passed else max(tests_failed, 1),
    )


async def run_tests(
    workspace: Workspace,
    limits: SandboxLimits = _DEFAULT_LIMITS,
    isolation: IsolationLevel | None = None,
) -> TestRun:
    """Run pytest on the workspace: its test_*.py files and the doctests of its modules.

    pytest is confined to the workspace: configuration comes only from the workspace's own
    pytest.ini/pyproject.toml/tox.ini/setup.cfg (else none), and no conftest.py above it loads.
    Exit code 5 (nothing collected) is a failure, with a note saying so in the output.
    """
    root = str(workspace.root)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--doctest-modules",
        f"--rootdir={root}",
        f"--confcutdir={root}",
        "-c",
        _pytest_config(workspace.root),
    ]
    result = await run_in_sandbox(workspace, argv, limits, isolation)
    if result.exit_code == _PYTEST_NO_TESTS:
        note = "pytest collected no tests (exit code 5): add test_*.py files or doctests"
        return dataclasses.replace(result, output=_with_note(result.output, note))
    return result


async def _execute(
    command: list[str], cwd: Path, env: dict[str, str], limits: SandboxLimits
) -> tuple[int, bool, str, float]:
    """Run to completion or to the wall limit; return (returncode, timed_out, output, seconds)."""
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    transport, capture = await loop.subprocess_exec(
        lambda: _Capture(OutputBuffer(limits.output_chars), loop),
        *command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=functools.partial(_set_rlimits, _rlimits(limits)),
    )
    timed_out = False
    try:
        done, _ = await asyncio.wait([capture.exited], timeout=limits.wall_seconds)
        timed_out = not done
    finally:
        duration = time.monotonic() - started
        # Also on normal exit: background processes the command left behind must not outlive it.
        # (A group id stays reserved while any member lives; an empty group gives ESRCH.)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(transport.get_pid(), signal.SIGKILL)
        try:
            await capture.exited  # set once the child has been reaped
            await asyncio.wait([capture.closed], timeout=_DRAIN_S)
        finally:
            transport.close()  # in case something outside the group still holds the pipe
    returncode = transport.get_returncode()
    assert returncode is not None  # reaped above
    return returncode, timed_out, capture.buffer.text(), duration


class _Capture(asyncio.SubprocessProtocol):
    """Feeds the child's output into a buffer and tells when it exited and when output ended.

    Unlike ``Process.wait()``, ``exited`` does not wait for pipes that a leftover grandchild may
    hold open, so such stragglers cannot delay the result until the wall limit.
    """

    def __init__(self, buffer: OutputBuffer, loop: asyncio.AbstractEventLoop) -> None:
        self.buffer = buffer
        self.exited: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.buffer.feed(data)

    def process_exited(self) -> None:
        self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.buffer.feed(b"", final=True)
        self.closed.set_result(None)


def _rlimits(limits: SandboxLimits) -> _RLimits:
    """The (resource, (soft, hard)) pairs to set, capped at our own hard limits."""
    wanted = [
        # The hard limit one second later SIGKILLs processes that ignore SIGXCPU.
        (resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1),
        (resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
        (resource.RLIMIT_FSIZE, limits.file_size_bytes, limits.file_size_bytes),
        # No core files: SIGXCPU and SIGXFSZ would otherwise dump them into the workspace.
        (resource.RLIMIT_CORE, 0, 0),
    ]
    pairs: _RLimits = []
    for which, soft, hard in wanted:
        ceiling = resource.getrlimit(which)[1]
        if ceiling != resource.RLIM_INFINITY:  # a hard limit can be lowered, never raised
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        pairs.append((which, (soft, hard)))
    return pairs


def _set_rlimits(pairs: _RLimits) -> None:
    # Runs in the child between fork and exec, so it only makes the syscalls, computed in advance.
    for which, pair in pairs:
        resource.setrlimit(which, pair)


def _child_env(home: str) -> dict[str, str]:
    """The child's whole environment: nothing is inherited, so no keys or tokens leak."""
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{_SYSTEM_PATH}",
        "HOME": home,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        # Unbuffered, so output printed before a kill is not lost in the child's buffers.
        "PYTHONUNBUFFERED": "1",
    }


def _stop_reason(exit_code: int | None, timed_out: bool, output: str) -> str | None:
    """Why the run was stopped, from our timeout, the killing signal or the error text."""
    if timed_out:
        return "timeout"
    if not exit_code:
        return None
    if exit_code < 0 and -exit_code in _SIGNAL_STOPS:
        return _SIGNAL_STOPS[-exit_code]
    # Python turns these limits into exceptions rather than signals (it ignores SIGXFSZ).
    if "MemoryError" in output or "Cannot allocate memory" in output:
        return "memory-limit"
    if "File too large" in output:
        return "file-size-limit"
    return None


def _explain(stopped: str, limits: SandboxLimits) -> str:
    return {
        "timeout": f"wall-clock limit of {limits.wall_seconds:g}s reached; process group killed",
        "cpu-limit": f"CPU time limit of {limits.cpu_seconds}s reached",
        "memory-limit": f"memory limit of {_mib(limits.memory_bytes)} address space reached",
        "file-size-limit": f"file size limit of {_mib(limits.file_size_bytes)} reached",
    }[stopped]


def _mib(size: int) -> str:
    return f"{size / (1 << 20):g} MiB"


def _with_note(output: str, note: str) -> str:
    separator = "\n" if output and not output.endswith("\n") else ""
    return f"{output}{separator}{NOTE_PREFIX}{note}\n"


def _pytest_config(root: Path) -> str:
    """The workspace's own pytest configuration file, else an empty one (never a parent's)."""
    for name, marker in _PYTEST_CONFIGS:
        path = root / name
        if path.is_file() and marker in path.read_text(encoding="utf-8", errors="replace"):
            return str(path)
    return os.devnull
