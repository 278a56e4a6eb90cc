"""Sandboxed execution of generated code and tests in per-task workspaces.

Runs go through asyncio subprocesses under CPU, memory and file-size rlimits and a wall-clock
timeout; bubblewrap adds no-network and read-only-system isolation when it works on the host.
Every result records the isolation level that was in force.
"""

from podium.sandbox.isolation import detect_isolation
from podium.sandbox.models import IsolationLevel, SandboxLimits, TestRun
from podium.sandbox.runner import run_in_sandbox, run_tests
from podium.sandbox.workspace import Workspace

__all__ = [
    "IsolationLevel",
    "SandboxLimits",
    "TestRun",
    "Workspace",
    "detect_isolation",
    "run_in_sandbox",
    "run_tests",
]
