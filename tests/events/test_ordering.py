import pytest

from podium.events import OrderingError, is_report_valid_for_current_code

from .factories import code, failed


def test_report_about_the_current_version_is_valid() -> None:
    assert is_report_valid_for_current_code(failed(2, code_hash="h2"), code(2, code_hash="h2"))


def test_report_about_an_older_version_is_stale() -> None:
    assert not is_report_valid_for_current_code(failed(1), code(2))


def test_report_that_causally_precedes_the_current_code_is_stale_even_at_the_same_version() -> None:
    report = failed(2, clock={"coder": 1})
    current = code(2, clock={"coder": 2})
    assert not is_report_valid_for_current_code(report, current)


def test_hash_mismatch_makes_a_report_stale() -> None:
    assert not is_report_valid_for_current_code(failed(2, code_hash="a"), code(2, code_hash="b"))


def test_same_version_concurrent_clocks_are_decided_by_the_hash() -> None:
    report_clock, code_clock = {"tester": 3, "coder": 1}, {"coder": 2}
    assert is_report_valid_for_current_code(
        failed(2, clock=report_clock, code_hash="h"), code(2, clock=code_clock, code_hash="h")
    )
    assert not is_report_valid_for_current_code(
        failed(2, clock=report_clock, code_hash="x"), code(2, clock=code_clock, code_hash="h")
    )


@pytest.mark.parametrize(("report_hash", "code_hash"), [(None, None), ("h", None), (None, "h")])
def test_a_missing_hash_falls_back_to_version_and_clock(report_hash, code_hash) -> None:
    assert is_report_valid_for_current_code(failed(2, code_hash=report_hash),
                                            code(2, code_hash=code_hash))
    assert not is_report_valid_for_current_code(failed(1, code_hash=report_hash),
                                                code(2, code_hash=code_hash))


def test_a_report_newer_than_the_code_is_an_error() -> None:
    with pytest.raises(OrderingError, match="version 3.*version 2"):
        is_report_valid_for_current_code(failed(3), code(2))
