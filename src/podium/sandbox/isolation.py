"""Choosing the isolation level and building the bubblewrap command line."""

from __future__ import annotations

import functools
import os
import shutil
import site
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import structlog

from podium.sandbox.models import IsolationLevel

_PROBE_TIMEOUT_S = 10.0
_PROBE_LOCK = threading.Lock()


def detect_isolation() -> IsolationLevel:
    """Return BUBBLEWRAP if bwrap is installed and our profile actually runs here.

    Probed once per process (thread-safe) by running ``true`` under the same profile as real runs;
    otherwise returns LIMITS_ONLY and logs a warning, once.
    """
    with _PROBE_LOCK:
        return _probe()


@functools.cache
def _probe() -> IsolationLevel:
    with tempfile.TemporaryDirectory(prefix="podium-probe-") as scratch:
        try:
            done = subprocess.run(
                bubblewrap_command(Path(scratch), ["true"]),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                env={"PATH": os.defpath},
                timeout=_PROBE_TIMEOUT_S,
            )
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            reason = str(exc)
        else:
            if done.returncode == 0:
                return IsolationLevel.BUBBLEWRAP
            stderr = done.stderr.decode(errors="replace").strip()
            reason = stderr or f"bwrap exited with status {done.returncode}"
    structlog.get_logger().warning(
        "sandbox.bubblewrap_unavailable",
        reason=reason,
        isolation=IsolationLevel.LIMITS_ONLY.value,
        consequence="runs get resource limits only: no network or filesystem isolation",
    )
    return IsolationLevel.LIMITS_ONLY


def bubblewrap_command(workspace_root: Path, argv: list[str]) -> list[str]:
    """Wrap ``argv`` in bwrap: read-only system, private /tmp, /dev and /proc, homes hidden,
    the workspace writable, every namespace unshared (so no network), no capabilities.

    The Python installation stays visible (read-only) even when it lives under a hidden folder,
    so the interpreter and its site-packages (pytest) work inside. Raises RuntimeError if bwrap
    is not installed.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RuntimeError("bubblewrap isolation requested but bwrap is not on PATH")
    root = str(workspace_root)
    hidden = _hidden_homes()
    command = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for home in hidden:
        command += ["--tmpfs", str(home)]
    # Mounts apply in order: these re-expose paths that the tmpfs mounts above just covered.
    for path in _python_paths([Path("/tmp"), *hidden]):
        command += ["--ro-bind", str(path), str(path)]
    command += ["--bind", root, root, "--chdir", root]
    command += ["--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "--new-session"]
    return [*command, "--", *argv]


def _hidden_homes() -> list[Path]:
    homes = {Path("/root").resolve(), Path.home().resolve()}
    return sorted(home for home in homes if home.is_dir() and home != Path("/"))


def _python_paths(covered: list[Path]) -> list[Path]:
    """The interpreter's prefixes and user site-packages that lie under a ``covered`` folder."""
    candidates = {
        Path(path).resolve()
        for path in (
            sys.prefix,
            sys.base_prefix,
            sys.exec_prefix,
            sys.base_exec_prefix,
            site.getusersitepackages(),
        )
    }
    wanted = sorted(
        path
        for path in candidates
        if path.exists() and any(path.is_relative_to(folder) for folder in covered)
    )
    # Binding a folder already brings its subfolders along.
    return [path for path in wanted if not any(path.is_relative_to(o) for o in wanted if o != path)]
