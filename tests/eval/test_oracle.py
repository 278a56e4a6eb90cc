"""The oracle provider: canonical answers, damaged deterministically in four real ways."""

from __future__ import annotations

import json

import pytest

from podium.agents.quality import check_code
from podium.eval import OracleProvider, all_problems
from podium.eval import damage as kinds
from podium.eval.scoring import score
from podium.providers.base import CompletionRequest, Provider, ProviderError
from tests.eval.conftest import problem

PROBLEMS = all_problems()[:40]


def request(purpose: str, p, extra: str = "") -> CompletionRequest:
    return CompletionRequest(prompt=f"Task: {p.prompt}\n{extra}", purpose=purpose)


@pytest.mark.parametrize("kind, damaging", [
    (kinds.PLACEHOLDER, kinds.dropped_placeholder),
    (kinds.SYNTAX, kinds.syntax_error),
    (kinds.STUB, kinds.stub_body),
])
def test_gate_damage_is_caught_by_its_rule_on_every_problem(kind, damaging) -> None:
    caught = [p.task_id for p in all_problems() if kind in {v.rule for v in
                                                            check_code(damaging(p))}]
    missed = sorted({p.task_id for p in all_problems()} - set(caught))
    # HumanEval/115 imports inside the function before its docstring: `pass` after that is
    # not a bare stub body to the gate.
    assert missed == (["HumanEval/115"] if kind == kinds.STUB else [])


def test_off_by_one_changes_are_small_and_pass_the_gate() -> None:
    p = problem(0)
    changes = list(kinds.off_by_one_candidates(p))
    assert changes and all(not check_code(code) for _, code in changes)
    correct = kinds.correct_module(p)
    for _, code in changes:
        differing = [a for a, b in zip(correct.splitlines(), code.splitlines(), strict=True)
                     if a != b]
        assert len(differing) == 1


async def test_damage_depends_only_on_seed_rate_and_problem() -> None:
    first, again = OracleProvider(0.5, seed=3), OracleProvider(0.5, seed=3)
    drawn = [first.planned_kind(p) for p in PROBLEMS]
    assert drawn == [again.planned_kind(p) for p in reversed(PROBLEMS)][::-1]
    assert drawn != [OracleProvider(0.5, seed=4).planned_kind(p) for p in PROBLEMS]
    assert 10 <= sum(k is not None for k in drawn) <= 30
    assert all(OracleProvider(0.0).planned_kind(p) is None for p in PROBLEMS)
    assert {OracleProvider(1.0).planned_kind(p) for p in PROBLEMS} == set(kinds.KINDS)


async def test_the_chosen_off_by_one_is_one_the_examples_catch() -> None:
    oracle = OracleProvider(1.0)
    planned = [p for p in all_problems()[:38] if oracle.planned_kind(p) == kinds.OFF_BY_ONE]
    damaged = {p.task_id: await oracle.damage(p) for p in planned}
    changed = [p for p in planned if damaged[p.task_id].kind == kinds.OFF_BY_ONE]
    assert len(changed) >= 3
    for p in changed:
        assert damaged[p.task_id].examples_catch is True, p.task_id
        assert not (await score(p, "\n" + damaged[p.task_id].code)).passed
    # A canonical body with no integer and no comparison gets a placeholder instead, and says so.
    for p in planned:
        if p not in changed:
            assert not list(kinds.off_by_one_candidates(p))
            assert damaged[p.task_id].kind == kinds.PLACEHOLDER
            assert "instead" in damaged[p.task_id].detail


async def test_answers_by_purpose_and_corrections_are_right() -> None:
    oracle: Provider = OracleProvider(1.0)
    p = problem(0)
    plan = json.loads((await oracle.complete(request("plan", p))).text)
    assert plan["modules"][0]["name"] == "has_close_elements"
    first = await oracle.complete(request("code", p))
    fix = await oracle.complete(request("fix", p))
    assert first.text != fix.text and kinds.correct_module(p) in fix.text
    tests = await oracle.complete(request("tests", p, "Write pytest tests for the module "
                                                      "has_close_elements.py."))
    assert "from has_close_elements import has_close_elements" in tests.text
    assert first.provider == "oracle" and first.tokens_in > 0 and first.tokens_out > 0


async def test_requests_it_cannot_place_are_refused() -> None:
    oracle = OracleProvider(0.5)
    with pytest.raises(ProviderError, match="quotes no HumanEval problem"):
        await oracle.complete(CompletionRequest(prompt="Write add(a, b)", purpose="code"))
    with pytest.raises(ProviderError, match="no answer for purpose 'general'"):
        await oracle.complete(request("general", problem(0)))
    with pytest.raises(ValueError, match="between 0 and 1"):
        OracleProvider(1.5)
