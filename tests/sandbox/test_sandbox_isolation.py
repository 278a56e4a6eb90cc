"""What bubblewrap adds: no network, no writes outside the workspace, no view of our processes."""

import asyncio
import errno
import json
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import structlog

from podium.sandbox import (
    IsolationLevel,
    SandboxLimits,
    Workspace,
    detect_isolation,
    run_in_sandbox,
)
from podium.sandbox import isolation as isolation_module

LIMITS = SandboxLimits(wall_seconds=20)

CONNECT_PROBE = """\
import json, socket
results = {{}}
for name, address in [("local", ("127.0.0.1", {port})), ("external", ("1.1.1.1", 53))]:
    try:
        socket.create_connection(address, timeout=3).close()
        results[name] = "connected"
    except OSError as exc:
        results[name] = type(exc).__name__
try:
    socket.getaddrinfo("example.com", 80)
    results["dns"] = "resolved"
except OSError as exc:
    results["dns"] = type(exc).__name__
print(json.dumps(results))
"""

WRITE_PROBE = """\
import errno, json, sys
results = {}
for name, path in json.loads(sys.argv[1]).items():
    try:
        with open(path, "w") as handle:
            handle.write("escaped")
        results[name] = "written"
    except OSError as exc:
        results[name] = errno.errorcode[exc.errno]
print(json.dumps(results))
"""


def test_detect_isolation_is_cached_and_matches_the_host() -> None:
    level = detect_isolation()

    assert detect_isolation() is level
    if shutil.which("bwrap") is None:
        assert level is IsolationLevel.LIMITS_ONLY


def test_without_bwrap_detection_falls_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without bwrap on it
    with structlog.testing.capture_logs() as logs:
        level = isolation_module._probe.__wrapped__()  # the uncached probe

    assert level is IsolationLevel.LIMITS_ONLY
    assert [entry["log_level"] for entry in logs] == ["warning"]
    assert "bwrap" in logs[0]["reason"]


async def test_network_is_unreachable_inside_bubblewrap(
    workspace: Workspace, bubblewrap: IsolationLevel
) -> None:
    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    workspace.write("probe.py", CONNECT_PROBE.format(port=port))
    argv = [sys.executable, "probe.py"]
    async with server:
        inside = await run_in_sandbox(workspace, argv, LIMITS, bubblewrap)
        outside = await run_in_sandbox(workspace, argv, LIMITS, IsolationLevel.LIMITS_ONLY)

    assert inside.passed, inside.output
    assert inside.isolation is IsolationLevel.BUBBLEWRAP
    results = json.loads(inside.output)
    assert results["local"] == "ConnectionRefusedError"  # a fresh network namespace
    assert results["external"] != "connected"
    assert results["dns"] != "resolved"
    # The server was reachable all along: only the sandbox kept the probe away.
    assert json.loads(outside.output)["local"] == "connected"


async def test_writes_outside_the_workspace_do_not_reach_the_host(
    workspace: Workspace, bubblewrap: IsolationLevel
) -> None:
    name = f"podium-escape-{uuid.uuid4().hex}"
    targets = {
        "host_tmp": Path(tempfile.gettempdir()) / name,
        "home": Path.home() / name,
        "workspace_parent": workspace.root.parent / name,
        "system": Path("/var/tmp") / name,
        "root": Path("/") / name,
        "inside": workspace.root / "inside.txt",
    }
    workspace.write("probe.py", WRITE_PROBE)
    argv = [sys.executable, "probe.py", json.dumps({key: str(p) for key, p in targets.items()})]
    try:
        result = await run_in_sandbox(workspace, argv, LIMITS, bubblewrap)
        leaked = [key for key, path in targets.items() if key != "inside" and path.exists()]
    finally:
        for key, path in targets.items():
            if key != "inside":
                path.unlink(missing_ok=True)

    assert result.passed, result.output
    results = json.loads(result.output)
    assert leaked == []
    # The system is mounted read-only; /tmp and the homes are private, discarded tmpfs mounts.
    assert results["system"] == results["root"] == errno.errorcode[errno.EROFS]
    assert results["inside"] == "written"
    assert workspace.read("inside.txt") == "escaped"


async def test_parent_processes_are_invisible_inside_bubblewrap(
    workspace: Workspace, bubblewrap: IsolationLevel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_TEST_API_KEY", "podium-secret-3")
    workspace.write(
        "peek.py",
        "import pathlib\n"
        "for env in pathlib.Path('/proc').glob('[0-9]*/environ'):\n"
        "    try:\n        print(env.read_bytes().decode(errors='replace'))\n"
        "    except OSError:\n        pass\n",
    )

    result = await run_in_sandbox(workspace, [sys.executable, "peek.py"], LIMITS, bubblewrap)

    assert result.passed, result.output
    assert "podium-secret-3" not in result.output
