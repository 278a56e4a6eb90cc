"""Single mode: the bare model, one completion per problem, no orchestration (the baseline).

Completion-style models (the embedded base model) get the HumanEval prompt itself as the text
to continue, with the usual HumanEval stop sequences; chat models are asked to complete the
function and answer in a code block.
"""

from __future__ import annotations

import time

from podium.agents.extract import extract_code
from podium.agents.prompts import CODER_SYSTEM
from podium.eval.problems import Problem
from podium.eval.results import ProblemResult
from podium.eval.scoring import score
from podium.providers.base import CompletionRequest, Provider, ProviderError

# Where a continuation of the function stops: the next top-level statement.
STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\n#", "\nprint(")
MAX_TOKENS = 384  # as the pipeline's code requests
CHAT_PROMPT = ("Complete this Python function. Answer with the whole function, with the imports "
               "it needs, in one ```python code block.\n\n{prompt}")


def style_of(provider: Provider) -> str:
    return getattr(provider, "style", "chat")


def single_request(problem: Problem, style: str) -> CompletionRequest:
    if style == "completion":
        return CompletionRequest(prompt=problem.prompt, purpose="code", max_tokens=MAX_TOKENS,
                                 stop=STOPS)
    return CompletionRequest(system=CODER_SYSTEM, prompt=CHAT_PROMPT.format(prompt=problem.prompt),
                             purpose="code", max_tokens=1024)


def completion_text(style: str, request: CompletionRequest, answer: str) -> str:
    """What follows the prompt in the check program: a base model's continuation as is; a chat
    model's code on a line of its own (a whole function redefines the prompt's stub; a bare
    body continues it)."""
    if style == "completion":
        return answer[len(request.prefill):]
    return "\n" + extract_code(answer)


async def run_single(problem: Problem, provider: Provider) -> ProblemResult:
    """Ask once, score the answer with the hidden tests."""
    style = style_of(provider)
    request = single_request(problem, style)
    started = time.perf_counter()
    try:
        completion = await provider.complete(request)
    except ProviderError as exc:
        return ProblemResult(mode="single", problem=problem.task_id, passed=False,
                             result=f"no answer: {exc}", status="failed",
                             wall_s=time.perf_counter() - started)
    wall = time.perf_counter() - started
    text = completion_text(style, request, completion.text)
    verdict = await score(problem, text)
    return ProblemResult(
        mode="single", problem=problem.task_id, passed=verdict.passed, result=verdict.result,
        completion=text,
        tokens_in=completion.tokens_in, tokens_out=completion.tokens_out,
        cost_usd=getattr(completion, "cost_usd", 0.0), wall_s=wall, model_s=completion.latency_s,
        llm_calls=1)
