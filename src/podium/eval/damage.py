"""Damaging a correct solution the ways coding agents really fail.

Each function takes the complete module (a problem's prompt followed by its canonical body)
and returns it damaged in one way; nothing here runs code. The kinds are named after what
should catch them: the quality gate's rules ("dropped-placeholder", "syntax", "stub-body"),
and the tests for "off-by-one".
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from podium.eval.problems import Problem

PLACEHOLDER = "dropped-placeholder"
SYNTAX = "syntax"
STUB = "stub-body"
OFF_BY_ONE = "off-by-one"
KINDS = (PLACEHOLDER, SYNTAX, STUB, OFF_BY_ONE)
# The rule (a QUALITY_VIOLATION rule name, or the TEST_FAILED event) that should catch each.
CAUGHT_BY = {PLACEHOLDER: PLACEHOLDER, SYNTAX: SYNTAX, STUB: STUB, OFF_BY_ONE: "TEST_FAILED"}

PLACEHOLDER_COMMENT = "# ... rest of the code unchanged"
_SWAPPED = {ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="), ast.GtE: (">=", ">")}


def correct_module(problem: Problem) -> str:
    return problem.prompt + problem.canonical_solution.rstrip() + "\n"


def _entry_function(source: str, problem: Problem) -> ast.FunctionDef:
    tree = ast.parse(source)
    found = [n for n in tree.body
             if isinstance(n, ast.FunctionDef) and n.name == problem.entry_point]
    if not found:
        raise ValueError(f"{problem.task_id}: no function {problem.entry_point} in the solution")
    return found[-1]


def _body(func: ast.FunctionDef) -> list[ast.stmt]:
    """The function's statements after its docstring."""
    first = func.body[0]
    is_doc = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
              and isinstance(first.value.value, str))
    return func.body[1:] if is_doc else func.body


def dropped_placeholder(problem: Problem) -> str:
    """The first half of the body kept, the rest replaced by a placeholder comment."""
    source = correct_module(problem)
    func = _entry_function(source, problem)
    body = _body(func)
    lines = source.splitlines(keepends=True)
    keep = body[: len(body) // 2]
    end = keep[-1].end_lineno if keep else body[0].lineno - 1
    indent = " " * body[0].col_offset
    assert end is not None
    return "".join(lines[:end]) + f"{indent}{PLACEHOLDER_COMMENT}\n"


def syntax_error(problem: Problem) -> str:
    """The colon of the first block header in the body (else of the def line) left out."""
    source = correct_module(problem)
    func = _entry_function(source, problem)
    lines = source.splitlines(keepends=True)
    # A header's colon ends the line just before its block's first statement (HumanEval's
    # code puts every block on lines of its own); for the def, before the docstring.
    headers = sorted(n.body[0].lineno - 2 for stmt in _body(func) for n in ast.walk(stmt)
                     if isinstance(n, ast.If | ast.For | ast.While | ast.With | ast.FunctionDef)
                     and n.body[0].lineno > n.lineno)
    target = next((row for row in headers if lines[row].rstrip().endswith(":")),
                  func.body[0].lineno - 2)
    lines[target] = lines[target].rstrip()[:-1] + "\n"
    return "".join(lines)


def stub_body(problem: Problem) -> str:
    """The prompt's signature and docstring with ``pass`` for a body."""
    return problem.prompt.rstrip() + "\n    pass\n"


def off_by_one_candidates(problem: Problem) -> Iterator[tuple[str, str]]:
    """``(description, module)`` for each off-by-one change of the canonical body, in source
    order: an integer constant one higher, then one lower; a comparison made inclusive or
    exclusive."""
    source = correct_module(problem)
    lines = source.splitlines(keepends=True)
    func = _entry_function(source, problem)
    nodes = sorted((n for stmt in _body(func) for n in ast.walk(stmt)),
                   key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))
    for node in nodes:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            for new in (node.value + 1, node.value - 1):
                yield (f"line {node.lineno}: {node.value} -> {new}",
                       _replace(lines, node, node.col_offset, node.end_col_offset, str(new)))
        elif isinstance(node, ast.Compare) and type(node.ops[0]) in _SWAPPED:
            old, new = _SWAPPED[type(node.ops[0])]
            left, right = node.left, node.comparators[0]
            if left.end_lineno != right.lineno:
                continue
            line = lines[right.lineno - 1].encode()  # ast columns count UTF-8 bytes
            start = line.find(old.encode(), left.end_col_offset, right.col_offset)
            if start < 0:
                continue
            yield (f"line {node.lineno}: {old} -> {new}",
                   _replace(lines, right, start, start + len(old), new))


def _replace(lines: list[str], node: ast.AST, start: int | None, end: int | None,
             text: str) -> str:
    """The source with columns ``start:end`` of ``node``'s line replaced by ``text``."""
    row = getattr(node, "lineno", 1) - 1
    changed = list(lines)
    raw = changed[row].encode()  # ast columns count UTF-8 bytes
    changed[row] = (raw[:start] + text.encode() + raw[end:]).decode()
    return "".join(changed)
