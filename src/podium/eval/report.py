"""The run's report: figures per mode computed from the per-problem results, written as
report.json, report.md and report.svg (a bar chart)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from podium.eval.damage import CAUGHT_BY
from podium.eval.oracle import NAME as ORACLE
from podium.eval.problems import Problem
from podium.eval.results import ProblemResult, RunInfo
from podium.eval.svg import bar_chart

ORACLE_LABEL = "oracle mechanics"
MODEL_LABEL = "model results"


def build_report(info: RunInfo, problems: Sequence[Problem], modes: Sequence[str],
                 results: Mapping[tuple[str, str], ProblemResult], *,
                 command: str = "", unscored: int = 0) -> dict[str, Any]:
    """Every figure is a sum, count or ratio over ``results`` for ``problems``; ``unscored``
    counts the chosen problems left out because some mode has not scored them yet."""
    ids = [p.task_id for p in problems]
    per_mode = {mode: [results[(mode, i)] for i in ids] for mode in modes}
    report: dict[str, Any] = {
        "benchmark": "HumanEval",
        "label": ORACLE_LABEL if info.provider == ORACLE else MODEL_LABEL,
        "run": asdict(info),
        "problems": len(ids),
        "unscored": unscored,
        "command": command,
        "modes": {mode: summarize(rows) for mode, rows in per_mode.items()},
    }
    if "single" in per_mode and "pipeline" in per_mode:
        solved = {mode: {r.problem for r in rows if r.passed} for mode, rows in per_mode.items()}
        report["comparison"] = {
            "solved_by_both": len(solved["single"] & solved["pipeline"]),
            "solved_only_by_single": [i for i in ids if i in solved["single"] - solved["pipeline"]],
            "solved_only_by_pipeline": [i for i in ids
                                        if i in solved["pipeline"] - solved["single"]],
        }
    if info.provider == ORACLE:
        report["damage"] = {mode: damage_figures(rows) for mode, rows in per_mode.items()}
    return report


def summarize(rows: Sequence[ProblemResult]) -> dict[str, Any]:
    passed = sum(r.passed for r in rows)
    wall = sum(r.wall_s for r in rows)
    model, tests = sum(r.model_s for r in rows), sum(r.test_s for r in rows)
    overhead = wall - model - tests
    return {
        "problems": len(rows),
        "passed": passed,
        "pass_at_1": passed / len(rows) if rows else 0.0,
        "tokens_in": sum(r.tokens_in for r in rows),
        "tokens_out": sum(r.tokens_out for r in rows),
        "cost_usd": sum(r.cost_usd for r in rows),
        "llm_calls": sum(r.llm_calls for r in rows),
        "wall_s": wall,
        "model_s": model,
        "test_s": tests,
        "overhead_s": overhead,
        "overhead_share": overhead / wall if wall > 0 else 0.0,
        "statuses": dict(Counter(r.status for r in rows)),
        # Pipeline: a failed task still leaves its last code, which may pass the hidden tests.
        "passed_by_status": dict(Counter(r.status for r in rows if r.passed)),
        "corrections": sum(r.corrections for r in rows),
    }


def damage_figures(rows: Sequence[ProblemResult]) -> dict[str, Any]:
    """For each kind of damage (and "none"): how many answers had it, how many ended passing
    the hidden tests, what first sent them back, and in how many rounds."""
    figures: dict[str, Any] = {}
    for kind in sorted({r.damage or "none" for r in rows}):
        group = [r for r in rows if (r.damage or "none") == kind]
        entry: dict[str, Any] = {
            "answers": len(group),
            "passed": sum(r.passed for r in group),
            "first_rejection": dict(Counter(r.first_rejection or "none" for r in group)),
            "mean_rounds": sum(r.rounds for r in group) / len(group),
        }
        if kind in CAUGHT_BY:
            entry["caught_by_expected_rule"] = sum(r.first_rejection == CAUGHT_BY[kind]
                                                   for r in group)
        if kind == "off-by-one":
            entry["examples_catch"] = sum(bool(r.examples_catch) for r in group)
        figures[kind] = entry
    return figures


def write_report(out: Path, report: dict[str, Any]) -> None:
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown(report), encoding="utf-8")
    (out / "report.svg").write_text(chart(report), encoding="utf-8")


_ROWS = (
    ("pass@1", lambda s: f"{s['pass_at_1']:.1%} ({s['passed']}/{s['problems']})"),
    ("tasks completed / failed", lambda s: _statuses(s)),
    ("tokens in / out", lambda s: f"{s['tokens_in']:,} / {s['tokens_out']:,}"),
    ("model calls", lambda s: f"{s['llm_calls']:,}"),
    ("cost", lambda s: f"${s['cost_usd']:.4f}"),
    ("wall time", lambda s: f"{s['wall_s']:.1f} s"),
    ("time in model calls", lambda s: f"{s['model_s']:.1f} s"),
    ("time in test runs", lambda s: f"{s['test_s']:.1f} s"),
    ("orchestration overhead", lambda s: f"{s['overhead_s']:.1f} s "
                                         f"({s['overhead_share']:.1%} of wall time)"),
)


def markdown(report: dict[str, Any]) -> str:
    run, modes = report["run"], report["modes"]
    lines = [f"# HumanEval, {report['label']}: {run['provider']} / {run['model']}", ""]
    if run["fault_rate"] is not None:
        lines += [f"Fault rate {run['fault_rate']}, seed {run['seed']}. These figures measure "
                  "Podium's mechanics on damaged reference answers, not a model.", ""]
    lines += [f"{report['problems']} problems, run `{run['run']}`.", ""]
    if report["unscored"]:
        lines += [f"Partial: {report['unscored']} more chosen problems are not scored in every "
                  "mode yet; the command below continues the run.", ""]
    lines += ["| | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
    lines += [f"| {name} | " + " | ".join(cell(s) for s in modes.values()) + " |"
              for name, cell in _ROWS]
    if "comparison" in report:
        c = report["comparison"]
        lines += ["", f"Solved by both: {c['solved_by_both']}. "
                      f"Only by single: {_ids(c['solved_only_by_single'])}. "
                      f"Only by pipeline: {_ids(c['solved_only_by_pipeline'])}."]
    if "damage" in report:
        lines += ["", *_damage_table(report["damage"])]
    if report["command"]:
        lines += ["", f"Reproduce: `{report['command']}`"]
    return "\n".join(lines) + "\n"


def _damage_table(damage: dict[str, Any]) -> list[str]:
    """One row per kind of damage: passed as given (single mode), then after the pipeline."""
    single, pipeline = damage.get("single", {}), damage.get("pipeline", {})
    lines = ["| damage | answers | passed as given (single) | passed after the pipeline | "
             "first sent back by | caught by its rule | mean rounds |", "|---|" + "---|" * 6]
    for kind in sorted(set(single) | set(pipeline)):
        given, piped = single.get(kind), pipeline.get(kind)
        answers = (piped or given or {}).get("answers", 0)
        first = ", ".join(f"{k} {n}" for k, n in sorted(piped["first_rejection"].items())) \
            if piped else "-"
        lines.append(" | ".join([
            f"| {kind}", str(answers), str(given["passed"]) if given else "-",
            str(piped["passed"]) if piped else "-", first,
            str(piped.get("caught_by_expected_rule", "-")) if piped else "-",
            f"{piped['mean_rounds']:.2f} |" if piped else "- |"]))
        if piped and "examples_catch" in piped:
            off = piped["answers"] - piped["examples_catch"]
            lines.append(f"| (off-by-one the examples do not catch: {off}) | | | | | | |")
    return lines


def _statuses(summary: dict[str, Any]) -> str:
    """Pipeline tasks by status, with how many of each passed the hidden tests."""
    counts, passed = summary["statuses"], summary["passed_by_status"]
    if set(counts) == {"answered"}:
        return "-"
    return " / ".join(f"{counts.get(s, 0)} ({passed.get(s, 0)} passed)"
                      for s in ("completed", "failed"))


def _ids(ids: list[str]) -> str:
    return f"{len(ids)} ({', '.join(ids)})" if ids else "0"


def chart(report: dict[str, Any]) -> str:
    modes = report["modes"]
    title = f"HumanEval, {report['label']}: {report['run']['provider']} / {report['run']['model']}"
    return bar_chart(
        title,
        pass_rates={m: s["pass_at_1"] for m, s in modes.items()},
        seconds={m: (s["model_s"], s["test_s"], max(s["overhead_s"], 0.0))
                 for m, s in modes.items()},
    )
