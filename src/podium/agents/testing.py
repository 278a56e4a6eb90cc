"""Tests the agents did not have to write: the task's own doctest examples, and a smoke test."""

from __future__ import annotations

import ast
import builtins
import doctest
import re

from podium.events.types import ModulePlan

_DEF_NAME = re.compile(r"def\s+([A-Za-z_]\w*)\s*\(")


def tests_file_name(module: ModulePlan) -> str:
    return f"test_{module.name}.py"


def tests_from_examples(task: str, module: ModulePlan) -> str | None:
    """A pytest file that runs the ``>>>`` examples written in the task against the module.

    None when the task has no examples, or none that doctest can read (its parser refuses a
    docstring whose continuation lines are indented unevenly). Each example is checked the way
    doctest checks it.
    """
    try:
        examples = doctest.DocTestParser().get_examples(_example_text(task))
    except ValueError:
        return None
    if not examples:
        return None
    text = "".join(
        f">>> {e.source.rstrip()}\n" + "".join(f"{line}\n" for line in e.want.splitlines())
        for e in examples
    )
    return f'''import doctest

import {module.name}

EXAMPLES = {text!r}


def test_examples_from_the_task():
    parser = doctest.DocTestParser()
    test = parser.get_doctest(EXAMPLES, dict(vars({module.name})), "task examples", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    failures = []
    runner.report_failure = lambda out, t, ex, got: failures.append(
        f"{{ex.source.strip()}} gave {{got.strip()!r}}, expected {{ex.want.strip()!r}}")
    runner.report_unexpected_exception = lambda out, t, ex, info: failures.append(
        f"{{ex.source.strip()}} raised {{info[1]!r}}")
    runner.run(test)
    assert not failures, "\\n".join(failures)
'''


def _example_text(task: str) -> str:
    """Where the examples live: the docstrings when the task is code (so the closing quotes
    are not read as expected output), else the task's text."""
    try:
        tree = ast.parse(task)
    except SyntaxError:
        return task
    docs = [ast.get_docstring(node) or "" for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    return "\n".join(docs) or task


def smoke_tests(module: ModulePlan) -> str:
    """The weakest useful test: the module imports and defines what its interface names."""
    names = _DEF_NAME.findall(module.interface)
    checks = "".join(f"    assert callable(getattr({module.name}, {n!r}, None)), "
                     f"'{module.name}.py does not define {n}()'\n" for n in names)
    return (f"import {module.name}\n\n\ndef test_{module.name}_imports():\n"
            f"    assert {module.name} is not None\n{checks}")


def grounded_tests(code: str) -> str | None:
    """The model's tests without the asserts that use names nothing defines.

    Small models write ``assert add(a, b) == a + b`` with ``a`` and ``b`` never set: such a
    test fails whatever the code does, and would send correct code round the correction loop.
    Returns None when no test function keeps an assert.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    known = set(dir(builtins)) | _bound_names(tree.body)
    kept_tests = 0
    for func in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
        local = known | {a.arg for a in func.args.args} | _bound_names(func.body)
        func.body = [s for s in func.body
                     if not isinstance(s, ast.Assert) or _free_names(s) <= local]
        if func.name.startswith("test") and any(isinstance(s, ast.Assert) for s in func.body):
            kept_tests += 1
        if not func.body:
            func.body = [ast.Pass()]
    return ast.unparse(tree) + "\n" if kept_tests else None


def _bound_names(body: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _free_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
