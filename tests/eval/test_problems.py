"""HumanEval's problems come from the installed package, chosen by limit or by id."""

from __future__ import annotations

import pytest

from podium.eval import all_problems, select_problems


def test_the_package_ships_all_164_problems_in_order() -> None:
    problems = all_problems()
    assert len(problems) == 164
    assert [p.task_id for p in problems[:3]] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    first = problems[0]
    assert first.entry_point == "has_close_elements" and first.slug == "HumanEval_0"
    assert "def check(candidate)" in first.test and "def check" not in first.prompt


def test_problems_are_chosen_by_limit_or_by_id_in_any_spelling() -> None:
    assert [p.task_id for p in select_problems(limit=2)] == ["HumanEval/0", "HumanEval/1"]
    chosen = select_problems(ids=["HumanEval/7", "3", "HumanEval_12", "3"])
    assert [p.task_id for p in chosen] == ["HumanEval/7", "HumanEval/3", "HumanEval/12"]
    assert len(select_problems()) == 164


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"ids": ["HumanEval/164"]}, "unknown HumanEval problem 'HumanEval/164'"),
    ({"ids": ["seven"]}, "unknown HumanEval problem 'seven'"),
    ({"limit": 0}, "at least 1"),
    ({"limit": 2, "ids": ["1"]}, "not both"),
])
def test_bad_choices_are_refused_naming_what_was_wrong(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        select_problems(**kwargs)
