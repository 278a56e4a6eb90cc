"""Reading a run's output: pytest's summary counts and the failure excerpt fed back to models."""

from __future__ import annotations

import re

NOTE_PREFIX = "[podium] "
"""Lines Podium adds to a run's output start with this, so they can be told apart."""

# pytest's last line, e.g. "3 passed, 1 failed in 0.12s" or "==== no tests ran in 0.01s ====".
_SUMMARY = re.compile(r"^=*\s*(no tests ran|\d+ \w+(?:, \d+ \w+)*) in \d[\d.]*s\b")
_COUNT = re.compile(r"(\d+) (passed|failed|errors?)\b")
# "____ test_name ____" opens one failure or error block (also "[doctest] mod.func").
_BLOCK_HEADER = re.compile(r"^_{3,} .+ _{3,}$")
# "===== short test summary info =====" and similar banners close a block.
_BANNER = re.compile(r"^={3,}( .* )?={3,}$")
# Inside a block: the failing source line, the error lines and the "file.py:12: Error" locations.
_KEY_LINE = re.compile(r"^(>|E\b|\S+:\d+: )")
_SHORT_SUMMARY_LINE = re.compile(r"^(FAILED|ERROR) ")
_TRACEBACK = "Traceback (most recent call last):"


def parse_pytest_summary(output: str) -> tuple[int, int] | None:
    """Return (passed, failed + errors) from pytest's last summary line, or None if absent."""
    for line in reversed(output.splitlines()):
        match = _SUMMARY.match(line.strip())
        if match:
            passed = failed = 0
            for number, word in _COUNT.findall(match.group(1)):
                if word == "passed":
                    passed += int(number)
                else:
                    failed += int(number)
            return passed, failed
    return None


def failure_excerpt(output: str, max_lines: int) -> str:
    """Pick at most ``max_lines`` lines of ``output`` that matter most for fixing a failure.

    Order: Podium's notes, then the key lines of pytest's failure blocks followed by the short
    summary's FAILED/ERROR lines; without pytest blocks the last traceback; else the output's end.
    """
    if max_lines <= 0:
        return ""
    lines = output.splitlines()
    notes = [line for line in lines if line.startswith(NOTE_PREFIX)]
    body = [line for line in lines if not line.startswith(NOTE_PREFIX)]
    budget = max(max_lines - len(notes), 0)
    chosen = _pytest_failures(body) or _last_traceback(body, budget) or _tail(body, budget)
    return "\n".join((notes + chosen)[:max_lines])


def _pytest_failures(lines: list[str]) -> list[str]:
    picked: list[str] = []
    block: list[str] | None = None
    for line in [*lines, "=== end ==="]:
        if _BLOCK_HEADER.match(line) or _BANNER.match(line):
            if block:
                picked += _key_lines(block)
            block = [line] if _BLOCK_HEADER.match(line) else None
        elif block is not None:
            block.append(line)
    if not picked:
        return []
    return picked + [line for line in lines if _SHORT_SUMMARY_LINE.match(line)]


def _key_lines(block: list[str]) -> list[str]:
    header, body = block[0], block[1:]
    key = [line for line in body if _KEY_LINE.match(line)]
    if not any(line.startswith("E") for line in key):
        # Doctest failures and the like carry no "E" lines: their whole block is the message.
        key = [line for line in body if line.strip()]
    return [header, *key]


def _last_traceback(lines: list[str], budget: int) -> list[str]:
    starts = [i for i, line in enumerate(lines) if line.startswith(_TRACEBACK)]
    if not starts or budget <= 0:
        return []
    traceback = [line for line in lines[starts[-1] :] if line.strip()]
    if len(traceback) <= budget:
        return traceback
    # The innermost frames and the exception message are at the end.
    return [traceback[0], *traceback[len(traceback) - budget + 1 :]]


def _tail(lines: list[str], budget: int) -> list[str]:
    kept = [line for line in lines if line.strip()]
    return kept[len(kept) - budget :] if budget else []
