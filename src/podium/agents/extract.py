"""Pull code and JSON out of a model's answer.

Models answer with prose around fenced code (```python ... ```), sometimes with several blocks,
sometimes cut off before the closing fence. These helpers recover the payload without ever
executing it; what they return is then checked by :mod:`podium.agents.quality`.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
import warnings
from dataclasses import dataclass

__all__ = ["extract_code", "extract_json"]

_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3"})
# An opening fence: any indent (models indent fences inside list items), three or more
# backticks or tildes, then an optional info string whose first word is the language.
_OPEN_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*?)[ \t]*$")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[,.!?:;]?")


@dataclass(frozen=True)
class _Block:
    """One fenced block: its language tag (lower case, may be empty) and its lines."""

    lang: str
    lines: tuple[str, ...]


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _fenced_blocks(text: str) -> list[_Block]:
    """Split ``text`` (``\\n`` line endings) into its fenced blocks, in order.

    Follows CommonMark where it matters: a block closes at a line holding only a fence of the
    same character at least as long as the opening one, so a ```` fence may contain ```.
    A block left open at the end of the text (a cut-off answer) runs to the end.
    """
    blocks: list[_Block] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        opening = _OPEN_FENCE.match(lines[i])
        # Backtick info strings may not contain backticks, else "```x```" would open a block.
        if not opening or (opening["fence"][0] == "`" and "`" in opening["info"]):
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        i += 1
        while i < len(lines) and not close.match(lines[i]):
            body.append(_dedent(lines[i], indent))
            i += 1
        i += 1  # past the closing fence (or the end)
        # "python", "python3.11", "python title=x.py", "{.python}" all name the language first.
        lang = re.split(r"[^\w+#-]", opening["info"].lower().lstrip("{."), maxsplit=1)[0]
        blocks.append(_Block(lang, tuple(body)))
    return blocks


def _dedent(line: str, width: int) -> str:
    """Remove up to ``width`` leading blanks: the fence's own indent, not the code's."""
    stripped = len(line) - len(line.lstrip(" \t"))
    return line[min(width, stripped) :]


def _parses(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _is_prose(line: str) -> bool:
    """Whether ``line`` is clearly a sentence rather than code.

    True only for an unindented line that does not parse, starts with a word that is no Python
    keyword, and is either several words ("Here is the fix:") or one word closed by
    punctuation ("Sure!").
    """
    if not line or line[0].isspace() or _parses(line):
        return False
    words = line.split()
    if (
        not _WORD.fullmatch(words[0])
        or keyword.iskeyword(words[0])
        or keyword.issoftkeyword(words[0])
    ):
        return False
    if len(words) == 1:
        return words[0][-1] in ".!?:"
    return words[1][0].isalpha() or words[1][0] in "`'\"“‘("


def _strip_prose(text: str) -> str:
    """Drop leading and trailing prose lines, but only if what is left parses."""
    lines = text.split("\n")
    start, end = 0, len(lines)
    while start < end and (not lines[start].strip() or _is_prose(lines[start])):
        start += 1
    while end > start and (not lines[end - 1].strip() or _is_prose(lines[end - 1])):
        end -= 1
    candidate = "\n".join(lines[start:end])
    return candidate if candidate.strip() and _parses(candidate) else text


def _tidy(text: str) -> str:
    """Strip trailing blanks per line and blank lines at both ends; end with one newline."""
    lines = [line.rstrip() for line in text.split("\n")]
    tidy = "\n".join(lines).strip("\n")
    return tidy + "\n" if tidy else ""


def extract_code(response: str) -> str:
    """Return the Python code in a model's ``response``.

    With fenced blocks: the blocks tagged ``python``/``py`` joined by a blank line, or, when none
    is tagged so, the untagged ones; blocks in other languages (bash, json, text, ...) are never
    returned, so an answer with only those yields ``""``. An unterminated last block counts.
    Without fences: the text as is when it parses, otherwise with clearly-prose lines removed
    from both ends if that leaves parseable code, otherwise unchanged.

    The result uses ``\\n`` line endings, has no trailing whitespace on any line and no blank
    lines at either end, and ends with exactly one newline -- or is ``""`` when there is no code.
    """
    text = _normalise_newlines(response)
    blocks = _fenced_blocks(text)
    if blocks:
        chosen = [b for b in blocks if b.lang in _PYTHON_TAGS] or [b for b in blocks if not b.lang]
        parts = [_tidy("\n".join(b.lines)) for b in chosen]
        return _tidy("\n".join(part for part in parts if part))
    text = _tidy(text)
    return text if not text or _parses(text) else _tidy(_strip_prose(text))


def extract_json(response: str) -> object | None:
    """Return the first JSON object or array in a model's ``response``, or None.

    Blocks fenced as ```json are tried first; then the whole text is scanned, decoding from
    each ``{`` or ``[`` in turn, so prose before, after or around the value is ignored. Only
    dicts and lists are returned: a bare JSON scalar is never taken for the answer.
    """
    text = _normalise_newlines(response)
    fenced = ["\n".join(b.lines) for b in _fenced_blocks(text) if b.lang == "json"]
    for candidate in (*fenced, text):
        found = _first_json(candidate)
        if found is not None:
            return found
    return None


def _first_json(text: str) -> dict[str, object] | list[object] | None:
    """Decode from each ``{`` or ``[`` in turn; the first that decodes wins."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", text):
        try:
            value: dict[str, object] | list[object] = decoder.raw_decode(text, match.start())[0]
        except (json.JSONDecodeError, RecursionError):
            continue  # not JSON here (prose brackets, "[see docs]") or nested too deep
        return value
    return None
