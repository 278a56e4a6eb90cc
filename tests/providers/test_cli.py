"""`podium doctor` and `podium run` through the router, as a user runs them: real
subprocesses talking over real HTTP to the protocol fakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.providers.fakes.harness import FakeServer, free_port, status

TASK = "Write a function add(a, b) that returns the sum of two numbers"
TESTS = "from add import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def podium(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podium", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=300, env=env)


@pytest.fixture
def env(tmp_path: Path, openai_fake: FakeServer, ollama_fake: FakeServer) -> dict[str, str]:
    (tmp_path / "podium.toml").write_text(f"""
home = "home"

[providers.local]
preset = "ollama"
base_url = "{ollama_fake.url}"

[providers.cloud]
preset = "openai"
base_url = "{openai_fake.url}/v1"

[providers.gone]
preset = "vllm"
base_url = "http://127.0.0.1:{free_port()}/v1"

[deployments.fast]
provider = "local"
model = "qwen2.5-coder:7b"
limits = {{ requests_per_day = 100 }}

[deployments.strong]
provider = "cloud"
model = "gpt-4o"
timeouts = {{ first_token_s = 2, idle_s = 2 }}

[deployments.down]
provider = "gone"
model = "qwen"

[routing]
backoff_s = 0.01
""")
    (tmp_path / "test_add.py").write_text(TESTS)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    return environment | {"OPENAI_API_KEY": "sk-test"}


def test_doctor_reports_each_deployment(tmp_path: Path, env: dict[str, str]) -> None:
    result = podium("doctor", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stderr  # one deployment is down
    rows = {row["deployment"]: row for row in map(json.loads, result.stdout.splitlines())}
    fast, strong, down = rows["fast"], rows["strong"], rows["down"]
    assert fast["reachable"] and fast["context_window"] == 32768
    assert fast["models"] == ["qwen2.5-coder:7b", "tiny:1b"] and fast["requests_today"] == 0
    assert strong["reachable"] and strong["models"] == ["gpt-4o"] and strong["breaker"] == "closed"
    assert not down["reachable"] and "unreachable" in down["detail"]
    table = podium("doctor", cwd=tmp_path, env=env)
    assert "fast" in table.stdout and "no" in table.stdout


def test_run_through_the_router_records_how_each_call_went(
        tmp_path: Path, env: dict[str, str], openai_fake: FakeServer) -> None:
    openai_fake.faults.append(status(503))  # the first call is retried
    result = podium("run", TASK, "--tests", "test_add.py", "--provider", "strong", "--json",
                    cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["type"] == "TASK_COMPLETE"
    calls = [e["data"] for e in events if e["type"] == "LLM_CALL"]
    assert calls[0]["attempt"] == 2 and all(c["attempt"] == 1 for c in calls[1:])
    for call in calls:
        assert (call["provider"], call["deployment"], call["model"]) == ("openai", "strong",
                                                                         "gpt-4o")
        assert call["ttft_s"] is not None and call["ttft_s"] <= call["latency_s"]
        assert call["cost_usd"] > 0 and not call["cost_estimated"]
        assert "via chain 'default'" in call["route_reason"]


def test_a_task_that_would_exceed_its_budget_fails_saying_so(
        tmp_path: Path, env: dict[str, str], openai_fake: FakeServer) -> None:
    config = tmp_path / "podium.toml"
    config.write_text(config.read_text() + "\n[budgets]\ntask_usd = 0.001\n")
    result = podium("run", TASK, "--tests", "test_add.py", "--provider", "strong", "--json",
                    cwd=tmp_path, env=env)
    assert result.returncode == 1
    last = json.loads(result.stdout.splitlines()[-1])
    assert last["type"] == "TASK_FAILED"
    assert last["data"]["reason"].startswith("BudgetExceeded: router provider: no deployment "
                                             "could answer")
    assert "more than is left of the $0.00 budget of task" in last["data"]["reason"]
    assert openai_fake.requests == []  # nothing was sent that could have cost money
