"""Quality gate for code that an LLM agent proposes.

Every edit is checked with :func:`check_code` before it is accepted. The checks are static and
cheap (parse, tokenize, walk the tree): nothing in the candidate is imported or executed. Each
:class:`Violation` message is written for the model, naming the lines and what to do instead.
"""

from __future__ import annotations

import ast
import enum
import io
import re
import tokenize
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Rule", "Violation", "check_code"]


class Rule(enum.StrEnum):
    """What a violation is about (a ``str``, so it serialises as its value).

    Declaration order is the order in which violations are reported.
    """

    EMPTY_OUTPUT = "empty-output"
    SYNTAX = "syntax"
    DROPPED_PLACEHOLDER = "dropped-placeholder"
    STUB_BODY = "stub-body"


@dataclass(frozen=True)
class Violation:
    """One reason to reject a candidate.

    ``message`` is addressed to the model and says what to fix; ``lines`` are the 1-based line
    numbers involved, ascending, and empty only when the problem has no line (empty output).
    """

    rule: Rule
    message: str
    lines: tuple[int, ...]


def check_code(source: str) -> list[Violation]:
    """Check one complete Python file proposed by a model.

    Returns ``[]`` when the source is accepted, otherwise the violations sorted by rule (in
    :class:`Rule` order) and then by first line, with at most one violation per rule. Empty
    output and syntax errors are reported alone, since the other rules need a parsed tree.
    Never raises for any ``str`` input, and never executes the source.
    """
    if not source.strip():
        return [Violation(Rule.EMPTY_OUTPUT, "the output is empty; write the complete code", ())]
    tree_or_error = _parse(source)
    if isinstance(tree_or_error, Violation):
        return [tree_or_error]
    violations = [
        v
        for v in (_dropped_placeholders(source, tree_or_error), _stub_bodies(tree_or_error))
        if v is not None
    ]
    order = list(Rule)
    return sorted(violations, key=lambda v: (order.index(v.rule), v.lines))


# --- syntax ---------------------------------------------------------------------------------


def _parse(source: str) -> ast.Module | Violation:
    """Parse and compile ``source``; a failure becomes a SYNTAX violation."""
    try:
        # SyntaxWarnings (e.g. invalid escapes) are not errors; keep them off stderr.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
            # Compiling the tree finds what the parser lets through: 'return' outside a
            # function, misplaced 'nonlocal' or '__future__' imports, and the like.
            compile(tree, "<candidate>", "exec", dont_inherit=True)
    except SyntaxError as err:
        where = f"line {err.lineno}: " if err.lineno else ""
        text = (err.text or "").strip()
        shown = f" in `{text}`" if text else ""
        message = f"{where}syntax error: {err.msg}{shown}; fix it so the whole file parses"
        return Violation(Rule.SYNTAX, message, (err.lineno,) if err.lineno else ())
    except (ValueError, RecursionError, MemoryError) as err:
        # Null bytes (ValueError on 3.11) or nesting too deep for the parser.
        message = f"syntax error: {err}; fix it so the whole file parses"
        return Violation(Rule.SYNTAX, message, ())
    return tree


# --- dropped placeholders -------------------------------------------------------------------

# Comment rules. They were tuned against real code (the standard library and popular
# packages), where phrases like "# Same as above", "# the remaining functions" or
# "# Other transport exceptions..." are ordinary prose and must not block an edit.

_ELLIPSIS = r"(?:\.{2,}|…)"
_BARE_ELLIPSIS = re.compile(rf"[\s\[\](){{}}<>.…]*{_ELLIPSIS}[\s\[\](){{}}<>.…]*")
_OPENS_WITH_ELLIPSIS = re.compile(rf"[\[({{<\s]*{_ELLIPSIS}")
_CLOSES_WITH_ELLIPSIS = re.compile(rf"{_ELLIPSIS}[\])}}>\s]*$")
# Words that, in "# ... <words> ...", mark the comment as standing in for code.
_OMISSION_WORD = re.compile(
    r"\b(?:rest|remaining|remainder|existing|other|unchanged|same|omitted|previous|original|"
    r"snip|snipped|code|implementation)\b"
)
# With an ellipsis only in front ("# ... other methods") the words must be plainer still.
_STRONG_OMISSION_WORD = re.compile(
    r"\b(?:rest|remaining|existing|other|unchanged|omitted|previous|snip|snipped)\b"
)
_CODE_NOUN = (
    r"(?:code|implementation|logic|body|bodies|methods?|functions?|class(?:es)?|definitions?|"
    r"file|module|lines?|contents?|parts?|sections?|helpers?|imports?|tests?|stuff)"
)
_VERB = r"(?:(?:keep|keeps|insert|add|put|paste|include|write)\s+)"
_QUALIFIER = (
    r"(?:here|goes\s+here|go\s+here|follows|below|above|unchanged|as\s+before|as\s+is|"
    r"omitted(?:\s+for\s+brevity)?|not\s+shown|(?:is|are|remains?|stays?)\s+"
    r"(?:the\s+same|unchanged|as\s+before|as\s+is)|(?:is|are)?\s*same\s+as\s+before)"
)
_TAIL = r"(?:\s+[\w']+){0,3}$"  # a few words may follow: "... remains the same as before"
# Matched against the normalised comment text (see _normalise_comment). Most are anchored at
# the start of the comment: "return the rest unchanged" describes data, not missing code.
_PLACEHOLDER_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        # "rest unchanged", "the rest of the code remains the same", "keep the rest as is"
        r"^(?:(?:keep|leave|and)\s+)?(?:the\s+)?rest\s+"
        rf"(?:of\s+(?:the\s+|this\s+|your\s+|my\s+)?(?:\w+\s+)?{_CODE_NOUN}\s+)?"
        r"(?:(?:is|are|remains?|stays?)\s+)?(?:unchanged|the\s+same|as\s+before|as\s+is|omitted)"
        + _TAIL,
        # "rest of the code", "rest of the file goes here" -- the whole comment
        rf"^(?:the\s+)?rest\s+of\s+(?:the\s+|this\s+|your\s+|my\s+)?(?:\w+\s+)?{_CODE_NOUN}"
        rf"(?:\s+{_QUALIFIER})?$",
        # "existing code", "previous implementation", "keep unchanged methods"
        rf"^{_VERB}?(?:the\s+|all\s+)?(?:existing|previous|unchanged)\s+"
        r"(?:code|implementation|logic|methods|functions)$",
        # "existing imports here", "other methods unchanged", "original code remains the same":
        # alone these words label real sections ("# the remaining functions"), so a qualifier
        # is required
        rf"^{_VERB}?(?:the\s+|all\s+)?(?:existing|previous|prior|remaining|unchanged|other|"
        rf"original|old|your)\s+(?:\w+\s+)?{_CODE_NOUN}\s+{_QUALIFIER}$",
        # "code omitted", "implementation omitted for brevity", "methods not shown"
        r"\b(?:code|implementation|logic|body|details?|rest|contents?|methods?|functions?|"
        r"lines?)\s+(?:omitted|elided|snipped|skipped|not\s+shown|left\s+out)\b",
        r"^(?:omitted|elided|snipped|skipped|left\s+out)\s+for\s+brevity$",
        # "your code here", "implementation goes here", "add your logic here"
        r"\b(?:code|implementation|logic)\s+goes\s+here\b",
        r"\b(?:your|add|insert|put|write)\s+(?:\w+\s+)?(?:code|implementation|logic)\s+here\b",
        r"^(?:the\s+)?(?:implementation|code|logic)\s+here$",
        # "same as before", "everything else is the same as before"
        r"^(?:\w+\s+){0,3}(?:is\s+|are\s+|remains?\s+|stays?\s+)?(?:the\s+)?same\s+as\s+"
        r"(?:before|previously|earlier|the\s+original)$",
        # "code remains the same", "all other methods stay unchanged", "everything else is
        # unchanged"; the subject opens the comment, so "the order of methods is the same
        # as..." and "functions that are the same in numpy" are left alone
        r"^(?:\w+\s+){0,2}(?:code|implementation|logic|body|everything(?:\s+else)?|"
        r"methods?|functions?|imports?|remainder)(?:\s+\w+){0,3}?\s+"
        r"(?:(?:remains?|stays?|left|kept)\s+(?:the\s+same|unchanged|as\s+is|as\s+before)|"
        r"(?:is|are)\s+(?:unchanged|as\s+before))" + _TAIL,
        r"^(?:unchanged|snip|snipped|more\s+code)$",
        # "TODO: implement", "TODO implement this", "FIXME: fill in the logic"
        r"\b(?:todo|fixme)\b\W*(?:implement|fill\s+in|write|complete|finish)"
        r"(?:\s+(?:this|me|it|here|later|the\s+rest|(?:the\s+)?(?:logic|code|body|function|"
        r"method|implementation)))?$",
    )
)
# Quoted text in a comment is mentioned, not meant: "# flags '# rest unchanged'". A single
# quote only counts when no letter touches it from outside, so "don't" quotes nothing.
_QUOTED = re.compile(r"\"[^\"]*\"|`[^`]*`|(?<!\w)'[^']*'(?!\w)")


def _normalise_comment(comment: str) -> str:
    """Lower-case the comment and reduce it to words separated by single spaces.

    Punctuation, brackets and ellipses are dropped so that "# (rest unchanged)",
    "# ... rest unchanged ..." and "# Rest: unchanged" all read "rest unchanged".
    """
    return " ".join(re.split(r"[^\w']+", comment.lower())).strip()


def _unquoted(comment: str) -> str:
    return _QUOTED.sub(" _ ", comment).lstrip("#").strip().lower()


def _is_bare_ellipsis(comment: str) -> bool:
    """``# ...``, ``# …``, ``# [...]``: an ellipsis and nothing else."""
    return _BARE_ELLIPSIS.fullmatch(_unquoted(comment)) is not None


def _names_omission(comment: str) -> bool:
    """Whether the words of a ``#`` comment say that code was left out."""
    raw = _unquoted(comment)
    opens, closes = _OPENS_WITH_ELLIPSIS.match(raw), _CLOSES_WITH_ELLIPSIS.search(raw)
    if opens and closes and _OMISSION_WORD.search(raw):
        return True  # "# ... other methods ...", "# ...existing code..."
    if opens and len(raw.split()) <= 5 and _STRONG_OMISSION_WORD.search(raw):
        return True  # "# ... other methods"; a trailing "..." alone is how prose trails off
    text = _normalise_comment(raw)
    return any(p.search(text) for p in _PLACEHOLDER_PATTERNS)


def _own_line_comments(source: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line, text)`` of each comment alone on its line.

    Only those can stand in for code: a comment after code on the same line remarks on that
    code ("return arg  # unchanged!"). Text inside string literals is never a comment.
    """
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT and not tok.line[: tok.start[1]].strip():
                yield tok.start[0], tok.string
    except (tokenize.TokenError, SyntaxError):
        # The source already parsed, so this is a tokenizer corner case; the comments
        # yielded so far are still real.
        return


def _placeholder_comments(source: str) -> Iterator[tuple[int, str]]:
    comments = dict(_own_line_comments(source))
    for line, text in comments.items():
        if _is_bare_ellipsis(text):
            # A lone "# ..." stands for code; inside a block of comments it elides prose or
            # rows of a table.
            if line - 1 not in comments and line + 1 not in comments:
                yield line, text
        elif _names_omission(text):
            yield line, text


def _is_ellipsis(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and stmt.value.value is Ellipsis
    )


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    return body[1:] if body and _is_docstring(body[0]) else body


def _statement_lists(tree: ast.Module) -> Iterator[tuple[ast.AST, list[ast.stmt]]]:
    """Yield every statement list in the tree together with the node that owns it."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            # Lambda and IfExp have an expression "body"; only statement lists matter here.
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                yield node, stmts


def _dropped_ellipses(tree: ast.Module) -> Iterator[int]:
    """Yield lines of bare ``...`` statements that stand for left-out code.

    A ``...`` that is the whole body of a block (after a docstring) is a deliberate empty body,
    like ``pass``; at module level, or beside other statements, it marks omitted code.
    """
    for owner, stmts in _statement_lists(tree):
        rest = _without_docstring(stmts)
        for stmt in rest:
            if _is_ellipsis(stmt) and (isinstance(owner, ast.Module) or len(rest) > 1):
                yield stmt.lineno


def _dropped_placeholders(source: str, tree: ast.Module) -> Violation | None:
    found: dict[int, str] = {}
    for line, comment in _placeholder_comments(source):
        found[line] = f"comment {comment.strip()!r}"
    for line in _dropped_ellipses(tree):
        found.setdefault(line, "bare '...'")
    if not found:
        return None
    lines = tuple(sorted(found))
    parts = [f"line {line}: {found[line]} stands for code that was left out" for line in lines]
    message = "; ".join([*parts, "write the full code"])
    return Violation(Rule.DROPPED_PLACEHOLDER, message, lines)


# --- stub bodies ----------------------------------------------------------------------------

_EXEMPT_DECORATORS = frozenset(
    {
        "abstractmethod",
        "abstractproperty",
        "abstractclassmethod",
        "abstractstaticmethod",
        "overload",
    }
)
_Function = ast.FunctionDef | ast.AsyncFunctionDef


def _terminal_name(expr: ast.expr) -> str | None:
    """``name`` for ``name``, ``mod.name``, ``name(...)`` and ``name[...]``; else None."""
    if isinstance(expr, ast.Call | ast.Subscript):
        return _terminal_name(expr.func if isinstance(expr, ast.Call) else expr.value)
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Name):
        return expr.id
    return None


def _stub_kind(func: _Function) -> str | None:
    """Describe the body if it is a stub (``'pass'``, ``'...'``, ...), else None."""
    body = _without_docstring(func.body)
    if not body:
        return "only a docstring"
    if len(body) > 1:
        return None
    stmt = body[0]
    if isinstance(stmt, ast.Pass):
        return "only `pass`"
    if _is_ellipsis(stmt):
        return "only `...`"
    if (
        isinstance(stmt, ast.Raise)
        and stmt.exc is not None
        and _terminal_name(stmt.exc) == "NotImplementedError"
    ):
        return "only `raise NotImplementedError`"
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name | ast.Attribute) and _terminal_name(test) == "TYPE_CHECKING"


def _find_stubs(
    nodes: list[ast.stmt], prefix: str, in_protocol: bool
) -> Iterator[tuple[int, str, str]]:
    """Yield ``(line, qualified name, body kind)`` for stub functions under ``nodes``.

    ``in_protocol`` is true for the direct body of a ``Protocol`` class, whose methods are
    declarations; ``if TYPE_CHECKING:`` blocks are skipped whole for the same reason.
    """
    for node in nodes:
        if isinstance(node, _Function):
            name = f"{prefix}{node.name}"
            exempt = in_protocol or any(
                _terminal_name(d) in _EXEMPT_DECORATORS for d in node.decorator_list
            )
            kind = None if exempt else _stub_kind(node)
            if kind is not None:
                yield node.lineno, name, kind
            yield from _find_stubs(node.body, f"{name}.", in_protocol=False)
        elif isinstance(node, ast.ClassDef):
            protocol = any(_terminal_name(b) == "Protocol" for b in node.bases)
            yield from _find_stubs(node.body, f"{prefix}{node.name}.", in_protocol=protocol)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _find_stubs(node.orelse, prefix, in_protocol)
        else:
            for child in _child_statements(node):
                yield from _find_stubs(child, prefix, in_protocol)


def _child_statements(node: ast.stmt) -> Iterator[list[ast.stmt]]:
    """Statement lists directly inside a compound statement (if/for/while/with/try/match)."""
    for field in ("body", "orelse", "finalbody"):
        stmts = getattr(node, field, None)
        if isinstance(stmts, list):
            yield stmts
    for holder in (*getattr(node, "handlers", ()), *getattr(node, "cases", ())):
        yield holder.body


def _stub_bodies(tree: ast.Module) -> Violation | None:
    stubs = sorted(_find_stubs(tree.body, "", in_protocol=False))
    if not stubs:
        return None
    parts = [f"line {line}: function '{name}' has {kind}" for line, name, kind in stubs]
    message = "; ".join([*parts, "write the real implementation"])
    return Violation(Rule.STUB_BODY, message, tuple(line for line, _, _ in stubs))
