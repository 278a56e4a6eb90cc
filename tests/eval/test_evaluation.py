"""Both modes end to end on a few problems: the real services, SQLite file and sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.config import Settings
from podium.eval import Evaluation, evaluate
from podium.eval import damage as kinds
from podium.eval.damage import CAUGHT_BY
from podium.eval.results import ResultsFile
from podium.events import project
from podium.providers import ScriptedProvider
from podium.services import TaskReader
from tests.eval.conftest import RecordingOracle, fenced, module_with, problem

P_BOTH, P_PIPELINE, P_SINGLE = problem(0), problem(2), problem(3)


def scripted_run(tmp_path: Path, settings: Settings) -> tuple[Evaluation, dict]:
    right = {p.task_id: fenced(p.prompt + p.canonical_solution) for p in (P_BOTH, P_PIPELINE,
                                                                          P_SINGLE)}
    zero = fenced(module_with(P_PIPELINE, "    return 0.0\n"))  # fails its own example
    # Passes both examples of below_zero, fails the hidden tests.
    lucky = fenced(module_with(P_SINGLE, "    return -4 in operations\n"))
    script = {
        "plan": ["no plan"],
        # Single mode asks first, one call per problem in order; then the pipeline's tasks.
        "code": [right["HumanEval/0"], zero, right["HumanEval/3"],
                 right["HumanEval/0"], zero, lucky],
        "fix": [right["HumanEval/2"]],
    }
    evaluation = Evaluation(out=tmp_path / "run", settings=settings,
                            provider=ScriptedProvider(script),
                            problems=[P_BOTH, P_PIPELINE, P_SINGLE], command="podium eval ...")
    return evaluation, evaluate(evaluation)


def test_the_report_adds_up_the_individual_results(tmp_path: Path, settings: Settings) -> None:
    evaluation, report = scripted_run(tmp_path, settings)
    results = ResultsFile(evaluation.out).load()
    assert len(results) == 6
    verdicts = {key: r.passed for key, r in results.items()}
    assert verdicts == {("single", "HumanEval/0"): True, ("single", "HumanEval/2"): False,
                        ("single", "HumanEval/3"): True, ("pipeline", "HumanEval/0"): True,
                        ("pipeline", "HumanEval/2"): True, ("pipeline", "HumanEval/3"): False}
    for mode, summary in report["modes"].items():
        rows = [r for (m, _), r in results.items() if m == mode]
        assert summary["problems"] == 3
        assert summary["passed"] == sum(r.passed for r in rows) == 2
        assert summary["pass_at_1"] == pytest.approx(2 / 3)
        for key, field in (("tokens_in", "tokens_in"), ("tokens_out", "tokens_out"),
                           ("wall_s", "wall_s"), ("model_s", "model_s"), ("test_s", "test_s"),
                           ("llm_calls", "llm_calls"), ("cost_usd", "cost_usd")):
            assert summary[key] == pytest.approx(sum(getattr(r, field) for r in rows)), key
        overhead = summary["wall_s"] - summary["model_s"] - summary["test_s"]
        assert summary["overhead_s"] == pytest.approx(overhead)
        assert summary["overhead_share"] == pytest.approx(overhead / summary["wall_s"])
    assert report["modes"]["single"]["llm_calls"] == 3 and report["modes"]["single"]["test_s"] == 0
    assert report["comparison"] == {"solved_by_both": 1,
                                    "solved_only_by_single": ["HumanEval/3"],
                                    "solved_only_by_pipeline": ["HumanEval/2"]}
    assert report["label"] == "model results" and "damage" not in report

    # The pipeline's figures are the tasks' own, from the event log.
    reader = TaskReader(settings)
    try:
        for p in (P_BOTH, P_PIPELINE, P_SINGLE):
            result = results[("pipeline", p.task_id)]
            state = reader.state(result.task_id)
            assert result.task_id == f"he-{report['run']['run']}-{p.slug}"
            assert (result.tokens_in, result.tokens_out, result.llm_calls) == \
                (state.tokens_in, state.tokens_out, state.llm_calls)
            assert result.test_s == pytest.approx(state.test_seconds) and result.test_s > 0
            assert result.wall_s >= result.test_s
        fixed = results[("pipeline", "HumanEval/2")]
        assert (fixed.status, fixed.first_rejection, fixed.rounds) == ("completed",
                                                                       "TEST_FAILED", 2)
        lucky = results[("pipeline", "HumanEval/3")]
        assert lucky.status == "completed" and lucky.result == "failed: AssertionError"
        assert lucky.tests_source == "doctest"
    finally:
        reader.close()

    markdown = (evaluation.out / "report.md").read_text()
    assert "| pass@1 | 66.7% (2/3) | 66.7% (2/3) |" in markdown
    assert "Only by single: 1 (HumanEval/3)" in markdown
    svg = (evaluation.out / "report.svg").read_text()
    assert svg.startswith("<svg") and svg.count("66.7%") == 2


def one_problem_per_damage(oracle: RecordingOracle) -> dict[str, object]:
    """The first problems (with examples) whose drawn damage is each kind."""
    chosen: dict[str, object] = {}
    for p in [problem(i) for i in range(38)]:
        kind = oracle.planned_kind(p)
        has_change = kind != kinds.OFF_BY_ONE or list(kinds.off_by_one_candidates(p))
        if kind not in chosen and has_change:
            chosen[kind] = p
    assert set(chosen) == set(kinds.KINDS)
    return chosen


def test_oracle_damage_is_caught_by_the_rule_meant_for_it_and_corrected(
        tmp_path: Path, settings: Settings) -> None:
    oracle = RecordingOracle(1.0)
    chosen = one_problem_per_damage(oracle)
    evaluation = Evaluation(out=tmp_path / "run", settings=settings, provider=oracle,
                            problems=list(chosen.values()), concurrency=2)
    report = evaluate(evaluation)
    results = ResultsFile(evaluation.out).load()
    for kind, p in chosen.items():
        single, pipeline = results[("single", p.task_id)], results[("pipeline", p.task_id)]
        assert single.damage == pipeline.damage == kind
        assert not single.passed  # the damaged answer, as given
        assert pipeline.first_rejection == CAUGHT_BY[kind], (kind, pipeline)
        assert pipeline.passed and pipeline.status == "completed" and pipeline.rounds == 2
    assert report["label"] == "oracle mechanics"
    figures = report["damage"]["pipeline"]
    assert {k: (f["answers"], f["passed"], f["caught_by_expected_rule"])
            for k, f in figures.items()} == {k: (1, 1, 1) for k in kinds.KINDS}
    assert report["modes"]["pipeline"]["pass_at_1"] == 1.0
    assert report["modes"]["single"]["pass_at_1"] == 0.0

    # The agents never saw the hidden tests: not in a prompt, not in the event log.
    assert oracle.requests
    for request in oracle.requests:
        text = request.system + request.prompt + request.prefill
        assert "def check(candidate)" not in text and "METADATA" not in text
        for p in chosen.values():
            assert p.test.strip() not in text
    reader = TaskReader(settings)
    try:
        for p in chosen.values():
            logged = "".join(e.model_dump_json() for e in
                             reader.events(results[("pipeline", p.task_id)].task_id))
            assert "def check(candidate)" not in logged
    finally:
        reader.close()


def test_a_rerun_scores_ended_tasks_from_the_log_without_running_them(
        tmp_path: Path, settings: Settings) -> None:
    first = [problem(0), problem(1)]
    oracle = RecordingOracle(0.5)
    out = tmp_path / "run"
    evaluate(Evaluation(out=out, settings=settings, provider=oracle, problems=first,
                        modes=["pipeline"]))
    before = ResultsFile(out).load()
    reader = TaskReader(settings)
    logs = {r.task_id: reader.events(r.task_id) for r in before.values()}
    reader.close()

    # Lose the results (and leave a torn line, as a kill mid-write would), then run again
    # with one more problem.
    (out / "results.jsonl").write_text('{"mode": "pipeline", "problem": "HumanEval/0", "pa')
    again = RecordingOracle(0.5)
    report = evaluate(Evaluation(out=out, settings=settings, provider=again,
                                 problems=[*first, problem(4)], modes=["pipeline"]))
    after = ResultsFile(out).load()
    assert len(after) == 3 and report["problems"] == 3
    asked = {p.task_id for p in (problem(0), problem(1), problem(4))
             if any(p.prompt.strip() in r.prompt for r in again.requests)}
    assert asked == {"HumanEval/4"}  # only the new problem's task ran
    reader = TaskReader(settings)
    try:
        for key, result in before.items():
            assert reader.events(result.task_id) == logs[result.task_id]
            assert after[key].passed == result.passed
            assert after[key].tokens_in == result.tokens_in
        assert project(reader.events(after[("pipeline", "HumanEval/4")].task_id)).status in \
            {"completed", "failed"}
    finally:
        reader.close()


def test_a_run_refuses_to_mix_providers(tmp_path: Path, settings: Settings) -> None:
    out = tmp_path / "run"
    evaluate(Evaluation(out=out, settings=settings, provider=RecordingOracle(0.3),
                        problems=[problem(0)], modes=["single"]))
    with pytest.raises(ValueError, match="fault_rate 0.3, not 0.6; choose another --out"):
        evaluate(Evaluation(out=out, settings=settings, provider=RecordingOracle(0.6),
                            problems=[problem(0)], modes=["single"]))
    with pytest.raises(ValueError, match="unknown mode 'both'"):
        Evaluation(out=out, settings=settings, provider=RecordingOracle(0.3),
                   problems=[problem(0)], modes=["both"])
