"""What the agents ask the model, in one place.

Two shapes of the same requests:
- "chat" for instruction-following models (OpenAI-compatible servers, cloud APIs): plain
  instructions, the answer comes back in a fenced code block;
- "completion" for base models prompted by completion (the embedded Gemma 3 270M): the
  prompt is the start of a Python file with one worked example, and the prefill opens the
  function the model is to finish. Small base models continue code far better than they follow
  instructions.
"""

from __future__ import annotations

import ast
from typing import Literal

from podium.agents.planner import python_definitions
from podium.events.types import ModulePlan
from podium.providers import CompletionRequest

Style = Literal["chat", "completion"]

CODER_SYSTEM = (
    "You are a careful Python developer. Write complete, working code. Never leave "
    "placeholders, stubs or comments that stand for missing code. Answer with one "
    "```python code block."
)

PLAN_PROMPT = """Split this programming task into Python modules.
Task: {task}
Answer with JSON only: {{"modules": [{{"name": "module_name", "purpose": "what it does", \
"interface": "the function signatures"}}]}}. Use one module when the task is small."""

CODE_PROMPT = """Task: {task}
Write the complete Python module {module}.py.
Purpose: {purpose}
{interface}"""

TESTS_PROMPT = """Task: {task}
Write pytest tests for the module {module}.py. Import what you test from {module}.
{interface}"""

FIX_PROMPT = """Task: {task}
This is the module {module}.py:
```python
{code}
```
It was rejected:
{feedback}
Write the corrected, complete module {module}.py."""

FIX_REJECTED_PROMPT = """Task: {task}
Your last answer for the module {module}.py was rejected:
{feedback}
Write the complete module {module}.py again."""

# The worked example that shows a base model the shape of the answer.
EXAMPLE_CODE = '''# square.py
def square(x):
    """Write a function square(x) that returns x squared."""
    return x * x
'''

# A string example: arithmetic in the example leaks into the model's expected values.
EXAMPLE_TESTS = '''# test_shout.py
from shout import shout


def test_shout():
    """Write a function shout(text) that returns text in capitals."""
    assert shout("hi") == "HI"
'''

# Two blank lines end a top-level definition: where a base model should stop.
COMPLETION_STOPS = ("\n\n\n", "\n```", "\nif __name__")


def plan_request(task: str, style: Style) -> CompletionRequest:
    if style == "completion":
        return CompletionRequest(
            prompt=f"# Task: {_comment(task)}\n# Plan as JSON, one module per file:",
            prefill='\n{"modules": [{"name": "', purpose="plan", max_tokens=128,
            stop=("\n\n",),
        )
    return CompletionRequest(system="You are a software architect.",
                             prompt=PLAN_PROMPT.format(task=task), purpose="plan",
                             max_tokens=512)


def code_request(task: str, module: ModulePlan, style: Style, *,
                 previous_code: str | None = None,
                 feedback: str | None = None) -> CompletionRequest:
    """The first attempt, or a correction when ``feedback`` is given."""
    purpose = "code" if feedback is None else "fix"
    if style == "completion":
        return _completion_code(task, module, purpose, previous_code, feedback)
    fields = dict(task=task, module=module.name, purpose=module.purpose or task,
                  interface=_interface(module), feedback=feedback, code=previous_code)
    if feedback is None:
        prompt = CODE_PROMPT.format(**fields)
    elif previous_code:
        prompt = FIX_PROMPT.format(**fields)
    else:
        prompt = FIX_REJECTED_PROMPT.format(**fields)
    return CompletionRequest(system=CODER_SYSTEM, prompt=prompt, purpose=purpose,
                             max_tokens=1024)


def tests_request(task: str, module: ModulePlan, style: Style) -> CompletionRequest:
    if style == "completion":
        name = _function_name(module) or module.name
        prefill = (f"# test_{module.name}.py\nfrom {module.name} import {name}\n\n\n"
                   f"def test_{name}():\n    {_docstring(task)}\n    assert {name}(")
        # One assert: a small model's first example is its best, later ones drift.
        return CompletionRequest(prompt=EXAMPLE_TESTS, prefill="\n\n" + prefill,
                                 purpose="tests", max_tokens=64, stop=("\n",))
    prompt = TESTS_PROMPT.format(task=task, module=module.name, interface=_interface(module))
    return CompletionRequest(system=CODER_SYSTEM, prompt=prompt, purpose="tests",
                             max_tokens=1024)


def _completion_code(task: str, module: ModulePlan, purpose: str, previous_code: str | None,
                     feedback: str | None) -> CompletionRequest:
    opening = _opening(task, module)
    if feedback is None:
        prompt = EXAMPLE_CODE
    else:
        before = (f"# {module.name}.py, rejected:\n{previous_code.strip()}\n"
                  if previous_code else "")
        prompt = f"{EXAMPLE_CODE}\n\n{before}# Why it was rejected:\n# {_comment(feedback)}\n"
    return CompletionRequest(prompt=prompt, prefill="\n\n" + opening, purpose=purpose,
                             max_tokens=384, stop=COMPLETION_STOPS)


def _opening(task: str, module: ModulePlan) -> str:
    """The start of the module: the task's own code when it is code, else the signature the
    plan names with the task as its docstring, else just the file header."""
    header = f"# {module.name}.py\n"
    if python_definitions(task) is not None:
        return header + task.rstrip() + "\n"
    if module.interface.startswith("def "):
        return f"{header}{module.interface.rstrip(':')}:\n    {_docstring(task)}\n"
    return header


def _function_name(module: ModulePlan) -> str | None:
    try:
        tree = ast.parse(module.interface.rstrip(":") + ": ...")
    except SyntaxError:
        return None
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    return defs[0].name if defs else None


def _interface(module: ModulePlan) -> str:
    return f"Interface: {module.interface}" if module.interface else ""


def _comment(text: str) -> str:
    return "\n# ".join(line.rstrip() for line in text.strip().splitlines()[:30])


def _docstring(text: str) -> str:
    flat = " ".join(text.split()).replace('"""', "'''").replace("\\", "\\\\")
    return f'"""{flat}"""'
