"""`podium eval humaneval` as a user runs it: real subprocesses, killed and resumed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli import app
from tests.cli.test_tasks import podium


def results(folder: Path) -> list[dict]:
    path = folder / "results.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def test_an_oracle_run_writes_its_report_and_a_report_only_rerun_runs_nothing(
        tmp_path: Path) -> None:
    done = podium("eval", "humaneval", "--provider", "oracle", "--fault-rate", "1",
                  "--problems", "HumanEval/2,HumanEval/4", "--modes", "single", "--out", "run",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "report: run/report.md" in done.stdout and "pass@1" in done.stdout
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["label"] == "oracle mechanics" and report["problems"] == 2
    assert report["command"].startswith("podium eval humaneval --problems HumanEval/2,HumanEval/4")
    assert (tmp_path / "run" / "report.svg").read_text().startswith("<svg")
    lines = (tmp_path / "run" / "results.jsonl").read_text()

    again = podium("eval", "humaneval", "--provider", "oracle", "--fault-rate", "1",
                   "--limit", "5", "--modes", "single", "--out", "run", "--report-only",
                   cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    partial = json.loads((tmp_path / "run" / "report.json").read_text())
    assert (partial["problems"], partial["unscored"]) == (2, 3)
    assert "Partial: 3 more" in (tmp_path / "run" / "report.md").read_text()
    assert (tmp_path / "run" / "results.jsonl").read_text() == lines


@pytest.mark.parametrize(("args", "message"), [
    (["--fault-rate", "0.5"], "--fault-rate applies only to --provider oracle"),
    (["--provider", "oracle", "--problems", "HumanEval/999"], "unknown HumanEval problem"),
    (["--provider", "oracle", "--modes", "single,fast"], "unknown mode 'fast'"),
    (["--provider", "magic"], "unknown provider 'magic'"),
    (["--provider", "oracle", "--report-only"], "holds no evaluation run"),
])
def test_bad_input_exits_2_naming_it(tmp_path: Path, args: list[str], message: str) -> None:
    # In process: bad input is refused before anything starts.
    done = CliRunner().invoke(app, ["eval", "humaneval", "--out", str(tmp_path / "run"), *args])
    assert done.exit_code == 2, done.output
    assert message in " ".join(done.stderr.split())
    assert results(tmp_path / "run") == []


def test_a_run_killed_mid_way_continues_where_it_stopped(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "podium", "eval", "humaneval", "--provider", "oracle",
               "--fault-rate", "0", "--limit", "3", "--modes", "pipeline", "--out", "run"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not results(tmp_path / "run") and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    scored_before = {r["problem"] for r in results(tmp_path / "run")}
    assert 1 <= len(scored_before) < 3

    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    final = results(tmp_path / "run")
    assert sorted(r["problem"] for r in final) == [f"HumanEval/{i}" for i in range(3)]
    assert all(r["passed"] for r in final)
    for r in final:
        log = podium("events", r["task_id"], "--json", "--home", "run/podium", cwd=tmp_path)
        events = [json.loads(line) for line in log.stdout.splitlines()]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert [e["type"] for e in events].count("TASK_CREATED") == 1
        assert events[-1]["type"] == "TASK_COMPLETE"


def test_the_embedded_model_answers_single_mode_by_completion(tmp_path: Path) -> None:
    done = podium("eval", "humaneval", "--problems", "2", "--modes", "single", "--out", "run",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [result] = results(tmp_path / "run")
    assert result["llm_calls"] == 1 and result["tokens_out"] > 0 and result["model_s"] > 0
    assert result["completion"].startswith("    ")  # a continuation of the prompt's function
    assert result["result"] == "passed" or result["result"].startswith(("failed", "timed out"))
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["run"]["provider"] == "embedded" and report["label"] == "model results"
