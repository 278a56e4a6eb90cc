"""Tests for pulling code and JSON out of model answers."""

from __future__ import annotations

import pytest

from podium.agents.extract import extract_code, extract_json

FENCE = "```"


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        # one tagged block inside prose
        (
            f"Here is the fix:\n\n{FENCE}python\nx = 1\nprint(x)\n{FENCE}\n\nThis prints 1.\n",
            "x = 1\nprint(x)\n",
        ),
        # tag spellings and case
        (f"{FENCE}py\nx = 1\n{FENCE}", "x = 1\n"),
        (f"{FENCE}Python\nx = 1\n{FENCE}", "x = 1\n"),
        (f"{FENCE} python3\nx = 1\n{FENCE}", "x = 1\n"),
        (f"{FENCE}python title=src/app.py\nx = 1\n{FENCE}", "x = 1\n"),
        (f"{FENCE}python:src/app.py\nx = 1\n{FENCE}", "x = 1\n"),
        (f"{FENCE}{{.python}}\nx = 1\n{FENCE}", "x = 1\n"),
        # untagged block
        (f"Sure.\n{FENCE}\nx = 1\n{FENCE}\n", "x = 1\n"),
        # tilde fences
        ("~~~python\nx = 1\n~~~\n", "x = 1\n"),
        ("~~~\nx = 1\n~~~\n", "x = 1\n"),
        # several python blocks are joined with a blank line, in order
        (
            f"First:\n{FENCE}python\nimport os\n{FENCE}\nThen:\n{FENCE}python\n"
            f"def f():\n    return os.sep\n{FENCE}\n",
            "import os\n\ndef f():\n    return os.sep\n",
        ),
        # tagged blocks win over untagged ones
        (
            f"{FENCE}\n$ run me\n{FENCE}\n{FENCE}python\nx = 1\n{FENCE}\n",
            "x = 1\n",
        ),
        # untagged blocks are used when none is tagged python
        (f"{FENCE}\na = 1\n{FENCE}\ntext\n{FENCE}\nb = 2\n{FENCE}\n", "a = 1\n\nb = 2\n"),
        # blocks in other languages are skipped
        (
            f"Install:\n{FENCE}bash\npip install x\n{FENCE}\n{FENCE}python\nimport x\n{FENCE}\n"
            f"Output:\n{FENCE}text\nok\n{FENCE}\n{FENCE}json\n{{}}\n{FENCE}\n",
            "import x\n",
        ),
        (f"{FENCE}output\n3\n{FENCE}\n{FENCE}\nx = 3\n{FENCE}", "x = 3\n"),
        # unterminated last block (token limit or stop sequence)
        (f"Here you go:\n{FENCE}python\ndef f():\n    return 1\n", "def f():\n    return 1\n"),
        (
            f"{FENCE}python\na = 1\n{FENCE}\nand\n{FENCE}python\nb = 2",
            "a = 1\n\nb = 2\n",
        ),
        # a longer fence may contain a shorter one
        (
            f"````python\nDOC = '''\n{FENCE}python\nx\n{FENCE}\n'''\n````\n",
            f"DOC = '''\n{FENCE}python\nx\n{FENCE}\n'''\n",
        ),
        # a fence indented inside a list item loses that indent, not the code's
        (
            f"1. Change it:\n   {FENCE}python\n   def f():\n       return 1\n   {FENCE}\n",
            "def f():\n    return 1\n",
        ),
        # blank lines at block edges go, blank lines inside stay
        (f"{FENCE}python\n\n\nx = 1\n\ny = 2\n\n\n{FENCE}", "x = 1\n\ny = 2\n"),
    ],
)
def test_fenced_code(response: str, expected: str) -> None:
    assert extract_code(response) == expected


@pytest.mark.parametrize(
    "response",
    [
        f"{FENCE}bash\nls\n{FENCE}\n",
        f'{FENCE}json\n{{"a": 1}}\n{FENCE}\n',
        f"{FENCE}python\n{FENCE}\n",
        f"{FENCE}python\n   \n\n{FENCE}\n",
        "",
        "   \n\n",
    ],
)
def test_no_python_yields_empty_string(response: str) -> None:
    assert extract_code(response) == ""


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        # CRLF and lone CR line endings
        (f"{FENCE}python\r\nx = 1\r\ny = 2\r\n{FENCE}\r\n", "x = 1\ny = 2\n"),
        ("x = 1\ry = 2\r", "x = 1\ny = 2\n"),
        # trailing whitespace per line
        (f"{FENCE}python\nx = 1   \nif x:\t\n    pass  \n{FENCE}", "x = 1\nif x:\n    pass\n"),
        # exactly one final newline
        ("x = 1", "x = 1\n"),
        ("x = 1\n\n\n\n", "x = 1\n"),
    ],
)
def test_output_is_normalised(response: str, expected: str) -> None:
    assert extract_code(response) == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        # already valid python: returned as is (modulo normalisation)
        ("import os\n\nprint(os.sep)\n", "import os\n\nprint(os.sep)\n"),
        ("\n\n  \nx = 1\n\n", "x = 1\n"),
        # a comment-led file is code, not prose
        ("# Here is the module\nx = 1\n", "# Here is the module\nx = 1\n"),
        # leading prose is dropped when the rest parses
        ("Here is the fixed code:\n\nimport os\nprint(os.sep)\n", "import os\nprint(os.sep)\n"),
        (
            "Sure!\nHere's the updated `app.py`:\ndef f():\n    return 1\n",
            "def f():\n    return 1\n",
        ),
        # trailing prose too
        ("x = 1\n\nThis sets x to one.\n", "x = 1\n"),
        ("Certainly.\nx = 1\nLet me know if you need more.", "x = 1\n"),
    ],
)
def test_unfenced_code(response: str, expected: str) -> None:
    assert extract_code(response) == expected


@pytest.mark.parametrize(
    "response",
    [
        # the code itself is broken: nothing is removed, the gate reports the error
        "Here is the code:\ndef f(:\n    pass\n",
        # "def" / "return" lines are never prose, even when they do not parse alone
        "def f():\nreturn 1\n",
        # prose in the middle cannot be removed safely
        "x = 1\nThen we add one.\ny = x + 1\n",
        # nothing but prose
        "I could not find the bug.\nPlease share more context.\n",
    ],
)
def test_unfenced_text_that_does_not_parse_is_kept(response: str) -> None:
    assert extract_code(response) == response.rstrip("\n") + "\n"


# --- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("[1, 2, 3]", [1, 2, 3]),
        ('The plan is {"steps": ["read", "edit"]} as agreed.', {"steps": ["read", "edit"]}),
        (
            'Result:\n[{"file": "a.py"}, {"file": "b.py"}]\nDone.',
            [{"file": "a.py"}, {"file": "b.py"}],
        ),
        # fenced json, with CRLF
        (f'Here:\r\n{FENCE}json\r\n{{\r\n  "ok": true\r\n}}\r\n{FENCE}\r\n', {"ok": True}),
        # a fenced json block is preferred over an earlier bracket in prose
        (f'See [1] and {{"x": 0}}.\n{FENCE}json\n{{"y": 2}}\n{FENCE}\n', {"y": 2}),
        # brackets that are not JSON are skipped over
        ('Use arr[i] or {not json} then {"k": null}', {"k": None}),
        (
            '{"outer": {"inner": [1, {"deep": "}"}]}} trailing',
            {"outer": {"inner": [1, {"deep": "}"}]}},
        ),
        # an unterminated fenced block still counts
        (f'{FENCE}json\n{{"partial": false}}\n', {"partial": False}),
        ("[]", []),
        ("{}", {}),
    ],
)
def test_extract_json(response: str, expected: object) -> None:
    assert extract_json(response) == expected


@pytest.mark.parametrize(
    "response",
    [
        "",
        "no json here",
        "42",
        '"just a string"',
        "{'single': 'quotes'}",
        '{"unterminated": [1, 2',
        "[" * 10_000,
    ],
)
def test_extract_json_none(response: str) -> None:
    assert extract_json(response) is None
