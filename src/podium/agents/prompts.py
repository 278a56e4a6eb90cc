"""What the agents ask the model, in one place.

Prompts are written for the weakest model Podium ships with (a 270M base model, prompted by
completion): short, concrete, and ending in a prefill that starts the answer in the right shape.
Chat models get the same text and ignore the prefill.
"""

from __future__ import annotations

from podium.events.types import ModulePlan
from podium.providers import CompletionRequest

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


def _interface(module: ModulePlan) -> str:
    return f"Interface: {module.interface}" if module.interface else ""


def plan_request(task: str) -> CompletionRequest:
    return CompletionRequest(
        system="You are a software architect.", prompt=PLAN_PROMPT.format(task=task),
        prefill='{"modules": [', purpose="plan", max_tokens=256, stop=("\n\n\n",),
    )


def code_request(task: str, module: ModulePlan, *, previous_code: str | None = None,
                 feedback: str | None = None) -> CompletionRequest:
    """The first attempt, or a correction when ``feedback`` is given."""
    fields = dict(task=task, module=module.name, purpose=module.purpose or task,
                  interface=_interface(module), feedback=feedback, code=previous_code)
    if feedback is None:
        prompt, purpose = CODE_PROMPT.format(**fields), "code"
    elif previous_code:
        prompt, purpose = FIX_PROMPT.format(**fields), "fix"
    else:
        prompt, purpose = FIX_REJECTED_PROMPT.format(**fields), "fix"
    return CompletionRequest(system=CODER_SYSTEM, prompt=prompt, prefill="```python\n",
                             purpose=purpose, max_tokens=768, stop=("```",))


def tests_request(task: str, module: ModulePlan) -> CompletionRequest:
    prompt = TESTS_PROMPT.format(task=task, module=module.name, interface=_interface(module))
    prefill = f"```python\nfrom {module.name} import *\n\n\ndef test_"
    return CompletionRequest(system=CODER_SYSTEM, prompt=prompt, prefill=prefill,
                             purpose="tests", max_tokens=512, stop=("```",))
