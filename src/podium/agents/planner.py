"""Turning the planner model's answer into modules, or falling back to one module."""

from __future__ import annotations

import ast
import keyword
import re
import sys
from dataclasses import dataclass

from pydantic import ValidationError

from podium.agents.extract import extract_json
from podium.events.types import ModulePlan

MAX_MODULES = 5
# "a function add(a, b)" or "def add(a, b)": the first callable the task names.
_SIGNATURE = re.compile(r"(?:def|function|method)\s+([A-Za-z_]\w*)\s*\(([^()]*)\)")


@dataclass(frozen=True)
class Plan:
    modules: list[ModulePlan]
    fallback: bool
    reason: str = ""


def python_definitions(task: str) -> ast.Module | None:
    """The task as Python source when it is code (a signature with a docstring), else None."""
    try:
        tree = ast.parse(task)
    except SyntaxError:
        return None
    has_def = any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) for n in tree.body)
    return tree if has_def else None


def fallback_plan(task: str, reason: str) -> Plan:
    """One module named after the first function the task names (or ``solution``)."""
    name, interface = "solution", ""
    tree = python_definitions(task)
    if tree is not None:
        func = next(n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))
        name, interface = func.name, f"def {func.name}({ast.unparse(func.args)})"
    elif match := _SIGNATURE.search(task):
        name, interface = match.group(1), f"def {match.group(1)}({match.group(2).strip()})"
    if not _usable_module_name(name):
        name = "solution"
    module = ModulePlan(name=name, purpose=task.strip().splitlines()[0][:200], interface=interface)
    return Plan(modules=[module], fallback=True, reason=reason)


def parse_plan(answer: str, task: str) -> Plan:
    """The model's plan when it is usable, else the one-module fallback saying why."""
    found = extract_json(answer)
    if isinstance(found, dict):
        found = found.get("modules")
    if not isinstance(found, list) or not found:
        return fallback_plan(task, "the planner's answer held no JSON list of modules")
    try:
        modules = [ModulePlan.model_validate(item) for item in found]
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"]
        return fallback_plan(task, f"the planner's modules were malformed: {problem}")
    names = [m.name for m in modules]
    bad = [n for n in names if not _usable_module_name(n)]
    if bad:
        return fallback_plan(task, f"unusable module name {bad[0]!r}")
    if len(set(names)) != len(names):
        return fallback_plan(task, "the planner named a module twice")
    if len(modules) > MAX_MODULES:
        return fallback_plan(task, f"the planner asked for {len(modules)} modules (at most "
                                   f"{MAX_MODULES})")
    return Plan(modules=modules, fallback=False)


def _usable_module_name(name: str) -> bool:
    """A name that imports as itself: an identifier that is no keyword and shadows no stdlib
    module (a generated ``random.py`` would break every test that imports ``random``)."""
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and name not in sys.stdlib_module_names
        and not name.startswith("test")
    )
