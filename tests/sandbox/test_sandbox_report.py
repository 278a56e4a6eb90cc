import pytest

from podium.sandbox.output import OutputBuffer
from podium.sandbox.report import failure_excerpt, parse_pytest_summary


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("..F.\n3 passed, 1 failed in 0.10s\n", (3, 1)),
        ("1 failed, 2 passed, 1 xpassed, 2 errors, 1 warning in 1.23s", (2, 3)),
        ("E\n1 error in 0.05s", (0, 1)),
        ("no tests ran in 0.01s", (0, 0)),
        ("===== 4 passed, 1 skipped in 61.20s (0:01:01) =====", (4, 0)),
        ("Traceback (most recent call last):\nValueError: boom", None),
    ],
)
def test_parse_pytest_summary(output: str, expected: tuple[int, int] | None) -> None:
    assert parse_pytest_summary(output) == expected


def test_excerpt_of_a_plain_traceback_keeps_its_end() -> None:
    frames = [f'  File "m.py", line {n}, in f{n}\n    f{n + 1}()' for n in range(40)]
    output = "\n".join(["starting", "Traceback (most recent call last):", *frames, "ValueError: x"])

    excerpt = failure_excerpt(output, max_lines=10).splitlines()

    assert len(excerpt) == 10
    assert excerpt[0] == "Traceback (most recent call last):"
    assert excerpt[-1] == "ValueError: x"


def test_excerpt_puts_podium_notes_first_and_respects_max_lines() -> None:
    output = "\n".join(f"line {n}" for n in range(100)) + "\n[podium] stopped: timeout (...)\n"

    excerpt = failure_excerpt(output, max_lines=5).splitlines()

    assert excerpt == [
        "[podium] stopped: timeout (...)",
        "line 96",
        "line 97",
        "line 98",
        "line 99",
    ]


def test_output_buffer_keeps_head_and_tail_within_the_limit() -> None:
    buffer = OutputBuffer(limit=100)
    for _ in range(1000):
        buffer.feed(b"a" * 10)
    buffer.feed("é".encode()[:1])  # a character split across chunks
    buffer.feed("é".encode()[1:] + b"z" * 20, final=True)

    text = buffer.text()

    assert len(text) <= 100
    assert text.startswith("aaaa")
    assert text.endswith("é" + "z" * 20)
    assert "characters elided" in text


def test_output_buffer_keeps_short_output_whole() -> None:
    buffer = OutputBuffer(limit=100)
    buffer.feed(b"x" * 60)
    buffer.feed(b"y" * 40, final=True)

    assert buffer.text() == "x" * 60 + "y" * 40
