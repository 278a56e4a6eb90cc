"""Tests for the quality gate: each rule with code it must flag and code it must accept."""

from __future__ import annotations

import inspect
import sys
import textwrap
from collections.abc import Callable

import pytest

from podium.agents.extract import extract_code
from podium.agents.quality import Rule, Violation, check_code


def src(text: str) -> str:
    """Dedent a triple-quoted snippet whose first line follows the opening quotes."""
    return textwrap.dedent(text).lstrip("\n")


def by_rule(source: str) -> dict[Rule, Violation]:
    violations = check_code(source)
    assert len({v.rule for v in violations}) == len(violations), "one violation per rule"
    return {v.rule: v for v in violations}


CLEAN = src(
    '''
    """A module that does real work."""

    import abc
    from typing import TYPE_CHECKING, Protocol, overload

    if TYPE_CHECKING:
        def only_for_types() -> int: ...


    class E(Exception):
        pass


    class Empty:
        ...


    class Base(abc.ABC):
        @abc.abstractmethod
        def run(self) -> None:
            """Subclasses do the work."""

        @property
        @abc.abstractmethod
        def name(self) -> str: ...


    class Greeter(Protocol):
        def greet(self, who: str) -> str: ...

        async def agreet(self, who: str) -> str:
            raise NotImplementedError


    @overload
    def f(x: int) -> int: ...
    @overload
    def f(x: str) -> str: ...
    def f(x):
        try:
            return x * 2
        except TypeError:
            pass  # a legitimate pass in an except block
        for _ in range(3):
            ...
        return None


    TEMPLATE = "# ... rest unchanged"
    NOTE = """
    # existing code here
    ...
    """
    '''
)


def test_clean_code_is_accepted() -> None:
    assert check_code(CLEAN) == []


@pytest.mark.parametrize("function", [check_code, extract_code])
def test_gate_accepts_its_own_modules(function: Callable[..., object]) -> None:
    # The gate's own comments quote placeholder phrases; quoting must not trip it.
    assert check_code(inspect.getsource(sys.modules[function.__module__])) == []


def test_violation_is_frozen() -> None:
    v = Violation(Rule.SYNTAX, "m", (1,))
    with pytest.raises(AttributeError):
        v.message = "other"  # type: ignore[misc]


def test_rule_values_are_strings() -> None:
    assert [r.value for r in Rule] == ["empty-output", "syntax", "dropped-placeholder", "stub-body"]
    assert Rule("stub-body") is Rule.STUB_BODY
    assert isinstance(Rule.SYNTAX, str)


# --- empty output ---------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["", "   ", "\n\n", " \t\r\n "])
def test_empty_output_is_reported_alone(source: str) -> None:
    violations = check_code(source)
    assert [v.rule for v in violations] == [Rule.EMPTY_OUTPUT]
    assert violations[0].lines == ()


@pytest.mark.parametrize("source", ["x = 1", "pass\n", "# just a comment\n", '"""doc"""\n'])
def test_minimal_code_is_not_empty(source: str) -> None:
    assert Rule.EMPTY_OUTPUT not in by_rule(source)


# --- syntax ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "fragment"),
    [
        ("def f(:\n    pass\n", 1, "def f(:"),
        ("x = 1\ny = 2\nif y > 1\n    print(y)\n", 3, "expected ':'"),
        ("def f():\n    return 1\n  return 2\n", 3, "unindent"),
        ("x = (1,\n     2\n", 1, "never closed"),
        ("a = 1\nb = 2\nreturn a\n", 3, "'return' outside function"),
        ("def f():\n    pass\n\nfrom __future__ import annotations\n", 4, "__future__"),
        ("x = 1\n\n\nclass A:\nprint(x)\n", 5, "indented block"),
    ],
)
def test_syntax_error_reports_its_line(source: str, line: int, fragment: str) -> None:
    violations = check_code(source)
    assert [v.rule for v in violations] == [Rule.SYNTAX]
    assert violations[0].lines == (line,)
    assert violations[0].message.startswith(f"line {line}: ")
    assert fragment in violations[0].message


def test_syntax_error_stops_other_rules() -> None:
    source = "def f():\n    pass\n# rest unchanged\nx = (\n"
    assert [v.rule for v in check_code(source)] == [Rule.SYNTAX]


@pytest.mark.parametrize("source", ["x = 1\x00\n", "x = " + "(" * 300 + ")" * 300 + "\n"])
def test_unparseable_input_never_raises(source: str) -> None:
    assert [v.rule for v in check_code(source)] == [Rule.SYNTAX]


def test_invalid_escape_is_accepted_silently(recwarn: pytest.WarningsRecorder) -> None:
    # An invalid escape warns at compile time (DeprecationWarning on 3.11, SyntaxWarning
    # later); it is neither a violation nor noise in the orchestrator's output.
    assert check_code('PATTERN = "\\d+"\n') == []
    assert not recwarn.list


# --- dropped placeholders: comments ---------------------------------------------------------


@pytest.mark.parametrize(
    "comment",
    [
        "# ...",
        "# …",
        "#...",
        "# [...]",
        "# (...)",
        "# ... rest unchanged",
        "# rest unchanged",
        "# Rest of the code",
        "# ... rest of the code ...",
        "# (rest of the code remains the same)",
        "# The rest of the file is unchanged",
        "# rest of class as before",
        "# existing code here",
        "# ... existing code ...",
        "# ...existing code...",
        "# Existing methods remain unchanged",
        "# Existing code (unchanged)",
        "# keep existing code",
        "# previous code",
        "# [previous code]",
        "# Previous implementation remains the same",
        "# unchanged code",
        "# UNCHANGED",
        "# Code remains the same",
        "# everything else stays the same",
        "# All other methods remain unchanged",
        "# implementation goes here",
        "# Your code here",
        "# add your logic here",
        "# insert implementation here",
        "# code omitted",
        "# ... code omitted for brevity ...",
        "# details omitted for brevity",
        "# same as before",
        "# Same as before.",
        "# ... same as before ...",
        "# ... other methods ...",
        "# other methods unchanged",
        "# TODO: implement",
        "# TODO implement this",
        "# todo: Implement me!",
        "# FIXME: fill in the logic",
        "# ... snip ...",
        "# rest unchanged (don't edit)",
        "# rest of the file is unchanged ...",
        "# rest of the `main` module",
        "#   ...   (omitted)   ...",
    ],
)
def test_placeholder_comment_is_flagged(comment: str) -> None:
    source = f"def f(x: int) -> int:\n    y = x + 1\n    {comment}\n    return y\n"
    found = by_rule(source)
    assert set(found) == {Rule.DROPPED_PLACEHOLDER}
    violation = found[Rule.DROPPED_PLACEHOLDER]
    assert violation.lines == (3,)
    assert violation.message == (
        f"line 3: comment {comment!r} stands for code that was left out; write the full code"
    )


@pytest.mark.parametrize(
    "comment",
    [
        "# Compute the offset first",
        "# TODO: implement caching once the API is stable",
        "# Other helpers",
        "# Implementation",
        "# keep existing code paths working",
        "# The rest of the function handles errors",
        "# the order of methods is the same as in the base class",
        "# see https://example.com/rest/api",
        "# rest the connection before retrying",
        "# Wait for the server...",
        "# Loading more...",
        "# e.g. call(a, b, ...)",
        "# type: ignore[arg-type]",
        "# noqa: E501",
        "# pragma: no cover",
        "# -*- coding: utf-8 -*-",
        "# unchanged values are skipped below",
        # prose found in real code (the standard library, popular packages)
        "# Same as above.",
        "# the remaining functions",
        "# existing file",
        "# same line",
        "# etc.",
        "# Functions that are the same in numpy",
        "# Other transport exceptions...",
        "# Clear existing instances before...",
        "# the same equivalence class",
        # a quoted phrase is mentioned, not meant
        "# rejects comments such as '# rest unchanged'",
        '# the marker "your code here" is replaced when rendering',
        "# `...` is a valid default here",
    ],
)
def test_ordinary_comment_is_not_flagged(comment: str) -> None:
    source = f"def f(x: int) -> int:\n    y = x + 1\n    {comment}\n    return y\n"
    assert check_code(source) == []


@pytest.mark.parametrize(
    "source",
    [
        'MARK = "# ... rest unchanged"\n',
        "MARK = '# existing code here'\n",
        'TEXT = """\n# rest of the code\n# ...\n"""\n',
        "def f() -> str:\n    return f\"{'# your code here'}\"\n",
        'def f() -> int:\n    """The rest unchanged: previous code here.\n\n    # ...\n    """\n'
        "    return 1\n",
        'class A:\n    """Rest of the code remains the same as before."""\n\n    x = 1\n',
    ],
)
def test_placeholder_text_inside_strings_is_not_flagged(source: str) -> None:
    assert check_code(source) == []


@pytest.mark.parametrize(
    "source",
    [
        # "# ..." eliding prose or table rows inside a block of comments
        "# 'Each instance runs a single test'\n# ...\n# 'methodName defaults to runTest'\nx = 1\n",
        "x = 1\n#  1 Jan 001   1\n#  ...\n# 31 Dec 400   146097\ny = 2\n",
        # a comment after code on the same line remarks on that code
        "PARTS = ('abc'  # ...\n         'def')\n",
        "def f(arg):\n    return arg  # unchanged!\n",
        "ZONE = ''  # TODO implement this\n",
        "def f():\n    return 1  # rest of the code unchanged\n",
        # sentences that trail off or open with an ellipsis
        "# ...add other platform-specific processing here, if needed\nx = 1\n",
        "# Extract compiled code objects from...\nx = 1\n",
        "# Strip the prefix and return the rest unchanged.\nx = 1\n",
        "# Return the resolved part + rest of the path unchanged.\nx = 1\n",
        "# final NEWLINE tokens are omitted for brevity\nx = 1\n",
    ],
)
def test_comment_in_context_is_not_flagged(source: str) -> None:
    assert check_code(source) == []


def test_all_placeholder_lines_go_in_one_violation() -> None:
    source = src(
        """
        import os
        # ... imports unchanged ...

        def f():
            x = os.getcwd()
            # rest unchanged
            return x

        # ... other functions ...
        """
    )
    found = by_rule(source)
    assert set(found) == {Rule.DROPPED_PLACEHOLDER}
    violation = found[Rule.DROPPED_PLACEHOLDER]
    assert violation.lines == (2, 6, 9)
    assert [part.split(":")[0] for part in violation.message.split("; ")] == [
        "line 2",
        "line 6",
        "line 9",
        "write the full code",
    ]


# --- dropped placeholders: bare ellipsis ----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        # between two statements in a function
        ("def f(x):\n    y = x\n    ...\n    return y\n", (3,)),
        # at the end of a function that does something
        ("def f(x):\n    y = x\n    ...\n", (3,)),
        # at module level between definitions
        ("def a():\n    return 1\n\n...\n\ndef b():\n    return 2\n", (4,)),
        # a module that is nothing but an ellipsis, with or without a docstring
        ("...\n", (1,)),
        ('"""Module."""\n...\n', (2,)),
        # in a class beside its methods
        ("class A:\n    def f(self):\n        return 1\n\n    ...\n", (5,)),
        # in a loop body beside other statements
        ("for i in range(3):\n    print(i)\n    ...\n", (3,)),
        # several in one file
        ("import os\n...\ndef f():\n    x = 1\n    ...\n    return x\n", (2, 5)),
    ],
)
def test_dropped_ellipsis_is_flagged(source: str, lines: tuple[int, ...]) -> None:
    found = by_rule(source)
    assert set(found) == {Rule.DROPPED_PLACEHOLDER}
    assert found[Rule.DROPPED_PLACEHOLDER].lines == lines
    assert "bare '...'" in found[Rule.DROPPED_PLACEHOLDER].message


@pytest.mark.parametrize(
    "source",
    [
        "class A:\n    ...\n",
        'class A:\n    """Doc."""\n    ...\n',
        "try:\n    import x\nexcept ImportError:\n    ...\n",
        "if True:\n    ...\nelse:\n    ...\n",
        "X: int = ...\n",
        "def f(x=...):\n    return x\n",
        "def f(a):\n    return a[..., 0]\n",
    ],
)
def test_ellipsis_as_whole_block_or_value_is_not_a_placeholder(source: str) -> None:
    assert Rule.DROPPED_PLACEHOLDER not in by_rule(source)


def test_comment_and_ellipsis_on_one_line_count_once() -> None:
    source = "def f(x):\n    y = x\n    ...  # rest unchanged\n    return y\n"
    violation = by_rule(source)[Rule.DROPPED_PLACEHOLDER]
    assert violation.lines == (3,)
    assert violation.message.count("line 3") == 1


# --- stub bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "name", "line", "kind"),
    [
        ("def f():\n    pass\n", "f", 1, "`pass`"),
        ("def f():\n    ...\n", "f", 1, "`...`"),
        ("def f(): ...\n", "f", 1, "`...`"),
        ('def f():\n    """Do it."""\n    pass\n', "f", 1, "`pass`"),
        ('def f():\n    """Do it."""\n', "f", 1, "docstring"),
        ("def f():\n    raise NotImplementedError\n", "f", 1, "NotImplementedError"),
        ("def f():\n    raise NotImplementedError()\n", "f", 1, "NotImplementedError"),
        ('def f():\n    raise NotImplementedError("x")\n', "f", 1, "NotImplementedError"),
        ("def f():\n    raise builtins.NotImplementedError\n", "f", 1, "NotImplementedError"),
        ("async def f():\n    pass\n", "f", 1, "`pass`"),
        ("class A:\n    def m(self):\n        pass\n", "A.m", 2, "`pass`"),
        ("class A:\n    async def m(self):\n        ...\n", "A.m", 2, "`...`"),
        (
            "def outer():\n    x = 1\n\n    def inner():\n        pass\n\n    return inner, x\n",
            "outer.inner",
            4,
            "`pass`",
        ),
        ("import functools\n\n@functools.cache\ndef f():\n    pass\n", "f", 4, "`pass`"),
        ("class A:\n    @staticmethod\n    def m():\n        ...\n", "A.m", 3, "`...`"),
        ("class A:\n    class B:\n        def m(self):\n            pass\n", "A.B.m", 3, "`pass`"),
        ("if True:\n    def f():\n        pass\n", "f", 2, "`pass`"),
        ("try:\n    pass\nexcept Exception:\n    def f():\n        pass\n", "f", 4, "`pass`"),
        ("match 1:\n    case 1:\n        def f():\n            ...\n", "f", 3, "`...`"),
        ("if TYPE_CHECKING:\n    pass\nelse:\n    def f():\n        pass\n", "f", 4, "`pass`"),
        # a Protocol's exemption covers its own methods, not other classes nested in it
        (
            "class P(Protocol):\n    class Impl:\n        def m(self):\n            pass\n",
            "P.Impl.m",
            3,
            "`pass`",
        ),
    ],
)
def test_stub_function_is_flagged(source: str, name: str, line: int, kind: str) -> None:
    found = by_rule(source)
    assert set(found) == {Rule.STUB_BODY}
    violation = found[Rule.STUB_BODY]
    assert violation.lines == (line,)
    assert violation.message.startswith(f"line {line}: function '{name}' has ")
    assert kind in violation.message


@pytest.mark.parametrize(
    "source",
    [
        "from abc import abstractmethod\n\nclass A:\n    @abstractmethod\n    def m(self):\n"
        "        pass\n",
        "import abc\n\nclass A(abc.ABC):\n    @abc.abstractmethod\n    def m(self):\n"
        "        raise NotImplementedError\n",
        "import abc\n\nclass A(abc.ABC):\n    @property\n    @abc.abstractmethod\n"
        "    def m(self) -> int: ...\n",
        "from typing import overload\n\n@overload\ndef f(x: int) -> int: ...\n"
        "@overload\ndef f(x: str) -> str: ...\ndef f(x):\n    return x\n",
        "import typing\n\n@typing.overload\ndef f(x: int) -> int: ...\ndef f(x):\n    return x\n",
        "from typing import Protocol\n\nclass P(Protocol):\n    def m(self) -> int: ...\n"
        "    def n(self) -> None:\n        pass\n",
        "import typing\n\nclass P(typing.Protocol[T]):\n    def m(self) -> T:\n"
        '        """Return a T."""\n',
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    def f() -> int: ...\n",
        "import typing\n\nif typing.TYPE_CHECKING:\n    class A:\n        def m(self):\n"
        "            pass\n",
        "class E(Exception):\n    pass\n",
        "class E(Exception):\n    ...\n",
        'class E(Exception):\n    """An error."""\n',
        "def f():\n    try:\n        return 1\n    except ValueError:\n        pass\n",
        "def f():\n    pass\n    return 1\n",
        "def f():\n    raise ValueError('bad')\n",
        "def f(self, other):\n    return NotImplemented\n",
        "def f():\n    if x:\n        raise NotImplementedError\n    return 1\n",
        "f = lambda: None\n",
    ],
)
def test_non_stub_is_not_flagged(source: str) -> None:
    assert Rule.STUB_BODY not in by_rule(source)


def test_all_stubs_go_in_one_violation_in_line_order() -> None:
    source = src(
        """
        class A:
            def b(self):
                pass

        def c():
            def d():
                ...
            return d

        async def e():
            raise NotImplementedError("later")
        """
    )
    violation = by_rule(source)[Rule.STUB_BODY]
    assert violation.lines == (2, 6, 10)
    for name in ("'A.b'", "'c.d'", "'e'"):
        assert name in violation.message
    assert "'c'" not in violation.message


# --- ordering -------------------------------------------------------------------------------


def test_violations_are_sorted_by_rule_order() -> None:
    source = "def f():\n    pass\n\n# rest of the code unchanged\n"
    assert [(v.rule, v.lines) for v in check_code(source)] == [
        (Rule.DROPPED_PLACEHOLDER, (4,)),
        (Rule.STUB_BODY, (1,)),
    ]
