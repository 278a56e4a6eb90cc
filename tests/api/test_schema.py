"""Schemathesis against the published /openapi.json: no generated request makes the server fail.

Both sides run as a user would run them, each in its own process: `podium serve` over a
scripted model, and schemathesis's own command line. Its examples, coverage, fuzzing and
stateful phases all run, with a fixed seed so that a failure can be replayed.

The SSE stream is left out: it stays open until its task ends, so each generated request
would wait out the request timeout. Its inputs are checked in test_rest and test_streams.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import SCRIPT, podium_serve

SEED = 20261123
EXAMPLES_PER_OPERATION = 20


@pytest.mark.timeout(1800)  # a few thousand requests on a shared two-core machine
def test_no_generated_request_gets_a_server_error(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    # One task runs at a time and few wait: generated submissions must not flood the machine;
    # beyond that the server answers 429, which is not a failure.
    with podium_serve(tmp_path, script, "--concurrency", "1", "--max-waiting", "3",
                      "--grace", "5") as (url, _proc):
        schema = httpx.get(f"{url}/openapi.json", timeout=30).json()
        operations = sum(len(methods) for path, methods in schema["paths"].items()
                         if not path.endswith("/events/stream"))
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json",
             "--checks", "not_a_server_error", "--max-examples", str(EXAMPLES_PER_OPERATION),
             "--seed", str(SEED), "--workers", "1", "--generation-database", "none",
             "--request-timeout", "60", "--exclude-path-regex", "/events/stream$",
             "--no-color"],
            cwd=tmp_path, capture_output=True, text=True, timeout=1700)
    output = run.stdout + run.stderr
    server_log = (tmp_path / "serve.log").read_text()
    assert run.returncode == 0, f"{output}\n--- server log ---\n{server_log[-20_000:]}"
    assert re.search(rf"Tested: {operations}\b", output), output  # every operation was reached
    assert "Traceback" not in server_log, server_log[-20_000:]
