import pytest
from pydantic import ValidationError

from podium.events import VectorClock
from podium.events.clock import MAX_COUNTER


def vc(**counters: int) -> VectorClock:
    return VectorClock.of(counters)


def test_tick_adds_exactly_one_and_leaves_the_original_alone() -> None:
    clock = vc(p1=4, p2=1)
    ticked = clock.tick("p1")
    assert ticked.get("p1") == 5 and ticked.get("p2") == 1
    assert clock.get("p1") == 4
    assert vc().tick("new").get("new") == 1


def test_merge_takes_the_element_wise_maximum() -> None:
    assert vc(p1=5).merge(vc(p1=3, p2=1)) == vc(p1=5, p2=1)
    assert vc(p1=1, p2=7).merge(vc(p1=4)) == vc(p1=4, p2=7)


@pytest.mark.parametrize(
    ("a", "b", "before"),
    [
        ({"p1": 1}, {"p1": 2}, True),
        ({"p1": 3}, {"p1": 5}, True),  # single process
        ({"p1": 1}, {"p1": 1, "p2": 1}, True),  # subset relation
        ({"p1": 5}, {"p1": 3}, False),
        ({"p1": 1}, {"p2": 1}, False),  # disjoint processes
        ({"p1": 5, "p2": 3}, {"p1": 5, "p2": 3}, False),  # equal clocks are not "before"
        ({}, {}, False),
        ({"p1": 0}, {}, False),
    ],
)
def test_happens_before(a: dict[str, int], b: dict[str, int], before: bool) -> None:
    assert VectorClock.of(a).happens_before(VectorClock.of(b)) is before


@pytest.mark.parametrize(
    ("a", "b", "concurrent"),
    [
        ({}, {}, True),
        ({"p1": 1}, {"p2": 1}, True),
        ({"p1": 2, "p2": 1}, {"p1": 1, "p2": 2}, True),
        ({"p1": 5, "p2": 3}, {"p1": 5, "p2": 3}, True),
        ({"p1": 1}, {"p1": 2}, False),
        ({"p1": 1}, {"p1": 1, "p2": 1}, False),
    ],
)
def test_concurrent(a: dict[str, int], b: dict[str, int], concurrent: bool) -> None:
    assert VectorClock.of(a).concurrent(VectorClock.of(b)) is concurrent
    assert VectorClock.of(b).concurrent(VectorClock.of(a)) is concurrent


def test_zero_counters_equal_missing_ones() -> None:
    assert vc(p1=0) == vc()
    assert hash(vc(p1=0)) == hash(vc())


@pytest.mark.parametrize("bad", [{"p1": -1}, {"p1": 2**63}, {"p1": 1.5}, {"p1": "3"}])
def test_bad_counters_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        VectorClock.model_validate(bad)


def test_tick_at_the_largest_counter_raises_instead_of_overflowing() -> None:
    with pytest.raises(OverflowError):
        vc(p1=MAX_COUNTER).tick("p1")


def test_clock_is_immutable() -> None:
    clock = vc(p1=1)
    with pytest.raises(ValidationError):
        clock.root = {}  # type: ignore[misc]
