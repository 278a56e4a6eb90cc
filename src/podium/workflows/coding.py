"""The coding workflow: plan, then for each module write tests, generate, check, test, correct.

It runs under DBOS: every step's result is checkpointed, so after a crash the workflow resumes
from its last completed step. Steps append their events with ids derived from the step, so a
step re-executed after a crash writes nothing twice (see runtime.StepLog). The workflow body
itself only decides what to do next from step results, which keeps it deterministic; the one
thing it writes is TASK_RESUMED, when it continues a task an earlier execution started.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any

from dbos import DBOS

from podium.agents import prompts
from podium.agents.extract import extract_code
from podium.agents.planner import fallback_plan, parse_plan
from podium.agents.quality import check_code
from podium.agents.testing import (
    grounded_tests,
    smoke_tests,
    tests_file_name,
    tests_from_examples,
)
from podium.events import TERMINAL_TYPES, VectorClock
from podium.events.types import (
    CodeGenerated,
    CodeGeneratedData,
    CorrectionCompleted,
    CorrectionCompletedData,
    CorrectionStarted,
    CorrectionStartedData,
    ModuleComplete,
    ModuleCompleteData,
    ModuleIteration,
    ModuleIterationData,
    ModulePlan,
    ModuleStarted,
    ModuleStartedData,
    PlanningComplete,
    PlanningCompleteData,
    QualityViolation,
    QualityViolationData,
    TaskComplete,
    TaskCompleteData,
    TaskCreated,
    TaskFailed,
    TaskFailedData,
    TaskResumed,
    TaskResumedData,
    TaskStarted,
    TaskStartedData,
    TestFailed,
    TestFailedData,
    TestPassed,
    TestPassedData,
    TestStarted,
    TestStartedData,
    TestsWritten,
    TestsWrittenData,
    ViolationData,
)  # fmt: skip
from podium.providers import Completion, CompletionRequest
from podium.sandbox import Workspace, detect_isolation, run_tests
from podium.store import ConcurrencyConflict
from podium.workflows import cancellation
from podium.workflows.runtime import StepLog, code_hash, current_runtime, derived_event_id

# Attempts at usable tests from the model before falling back to a smoke test.
TEST_WRITING_ATTEMPTS = 2
# How much of a failure is fed back to the model: small models lose the thread in long text.
FEEDBACK_LINES = 30


def _complete(request: CompletionRequest, task_id: str) -> Completion:
    # Steps run in DBOS worker threads; each call gets its own short-lived event loop.
    # The request names its task, so the router holds the call to the task's budget and
    # sends it only where the task's hints allow.
    created = current_runtime().store.read_task(task_id, limit=1)
    data = created[0].data if created else None
    request = request.model_copy(update={
        "task_id": task_id, "budget_usd": getattr(data, "budget_usd", None),
        "provider": getattr(data, "provider_hint", None),
        "model": getattr(data, "model_hint", None)})
    return asyncio.run(current_runtime().provider.complete(request))


def _style() -> prompts.Style:
    return getattr(current_runtime().provider, "style", "chat")


def _workspace(task_id: str) -> Workspace:
    return Workspace.create(current_runtime().workspaces, task_id)


@DBOS.step()
def load_task(task_id: str) -> dict[str, Any]:
    """The task as submitted (its TASK_CREATED event)."""
    created = current_runtime().store.read_task(task_id, limit=1)
    if not created or not isinstance(created[0], TaskCreated):
        raise ValueError(f"task {task_id} has no TASK_CREATED event")
    return created[0].data.model_dump()


@DBOS.step()
def start_and_plan(task_id: str, task: str) -> list[dict[str, Any]]:
    log = StepLog(task_id)
    log.emit(TaskStarted(task_id=task_id, data=TaskStartedData(worker=current_runtime().worker)))
    try:
        completion = _complete(prompts.plan_request(task, _style()), task_id)
    except Exception as exc:  # a planner that cannot answer still leaves a usable plan
        plan, call = fallback_plan(task, f"the planner call failed: {exc}"), []
    else:
        plan, call = parse_plan(completion.text, task), [log.llm_call(completion, purpose="plan")]
    log.emit(*call, PlanningComplete(task_id=task_id, data=PlanningCompleteData(
        modules=plan.modules, fallback=plan.fallback, reason=plan.reason)))
    return [m.model_dump() for m in plan.modules]


@DBOS.step()
def prepare_module(task_id: str, task: str, module: dict[str, Any],
                   supplied_tests: str | None) -> dict[str, str]:
    """Start the module and settle its tests: supplied, else the task's examples, else the
    model's, else a smoke test. Returns the tests file's path and code."""
    log = StepLog(task_id)
    plan = ModulePlan.model_validate(module)
    log.emit(ModuleStarted(task_id=task_id, data=ModuleStartedData(module=plan.name)))
    path = tests_file_name(plan)
    if supplied_tests is not None:
        code, source = supplied_tests, "task"
    elif (examples := tests_from_examples(task, plan)) is not None:
        code, source = examples, "doctest"
    else:
        code, source = _model_tests(log, task, plan)
    log.emit(TestsWritten(task_id=task_id, data=TestsWrittenData(
        module=plan.name, path=path, code=code, source=source)))
    return {"path": path, "code": code, "source": source}


@DBOS.step()
def replace_disputed_tests(task_id: str, module: dict[str, Any], round_: int) -> dict[str, str]:
    """The coder resubmitted, unchanged, code that failed the model's own tests: a small model's
    test is likelier to be wrong than its code. Fall back to the smoke test, and say so."""
    plan = ModulePlan.model_validate(module)
    code, path = smoke_tests(plan), tests_file_name(plan)
    StepLog(task_id).emit(TestsWritten(task_id=task_id, data=TestsWrittenData(
        module=plan.name, path=path, code=code, source="smoke",
        note=f"round {round_}: the coder kept its code against the model-written tests; "
             "those tests are disputed and replaced")))
    return {"path": path, "code": code, "source": "smoke"}


def _model_tests(log: StepLog, task: str, plan: ModulePlan) -> tuple[str, str]:
    for _ in range(TEST_WRITING_ATTEMPTS):
        completion = _complete(prompts.tests_request(task, plan, _style()), log.task_id)
        log.emit(log.llm_call(completion, module=plan.name, purpose="tests"))
        code = grounded_tests(extract_code(completion.text))
        if code is not None and not check_code(code):
            return code, "agent"
    return smoke_tests(plan), "smoke"


@DBOS.step()
def generate(task_id: str, task: str, module: dict[str, Any], round_: int,
             previous_code: str | None, feedback: str | None,
             reason: str | None) -> dict[str, Any]:
    """One round of code for a module: a first attempt, or a correction of what ``reason``
    ("quality" or "tests") rejected. Returns the accepted code, or the gate's feedback."""
    log = StepLog(task_id)
    plan = ModulePlan.model_validate(module)
    name = plan.name
    started = [ModuleIteration(task_id=task_id, data=ModuleIterationData(module=name,
                                                                         round=round_))]
    if feedback is not None:
        started.append(CorrectionStarted(task_id=task_id, data=CorrectionStartedData(
            module=name, round=round_, reason=reason, feedback=feedback)))
    log.emit(*started)
    completion = _complete(prompts.code_request(task, plan, _style(), previous_code=previous_code,
                                                feedback=feedback), task_id)
    code = extract_code(completion.text)
    violations = check_code(code)
    call = log.llm_call(completion, module=name, purpose="fix" if feedback else "code")
    if violations:
        log.emit(call, QualityViolation(task_id=task_id, data=QualityViolationData(
            module=name, round=round_, code=code,
            violations=[ViolationData(rule=v.rule.value, message=v.message, lines=list(v.lines))
                        for v in violations])))
        return {"code": None, "feedback": "\n".join(v.message for v in violations)}
    path = f"{name}.py"
    done = [CorrectionCompleted(task_id=task_id, data=CorrectionCompletedData(
        module=name, round=round_))] if feedback is not None else []
    log.emit(call, CodeGenerated(
        task_id=task_id, actor="agent:coder", code_version=round_, code_hash=code_hash(code),
        vector_clock=VectorClock.of({"coder": round_}),
        data=CodeGeneratedData(module=name, round=round_, path=path, code=code)), *done)
    return {"code": code, "path": path, "feedback": None}


@DBOS.step()
def test(task_id: str, module: str, round_: int, files: dict[str, str]) -> dict[str, Any]:
    """Write the module's current files into the workspace and run the tests in the sandbox."""
    runtime = current_runtime()
    log = StepLog(task_id)
    workspace = _workspace(task_id)
    for path, text in files.items():
        workspace.write(path, text)
    code = files[f"{module}.py"]
    stamp = dict(code_version=round_, code_hash=code_hash(code),
                 vector_clock=VectorClock.of({"coder": round_, "sandbox": round_}))
    isolation = detect_isolation()
    log.emit(TestStarted(task_id=task_id, actor="sandbox", data=TestStartedData(
        module=module, round=round_, isolation=isolation.value,
        command=["python", "-m", "pytest", "--doctest-modules"])))
    run = asyncio.run(run_tests(workspace, runtime.limits, isolation))
    if run.passed:
        log.emit(TestPassed(task_id=task_id, actor="sandbox", **stamp, data=TestPassedData(
            module=module, round=round_, tests_passed=run.tests_passed,
            duration_s=run.duration_s)))
        return {"passed": True, "feedback": None}
    excerpt = run.failure_excerpt(FEEDBACK_LINES)
    log.emit(TestFailed(task_id=task_id, actor="sandbox", **stamp, data=TestFailedData(
        module=module, round=round_, tests_passed=run.tests_passed,
        tests_failed=run.tests_failed, stopped=run.stopped, excerpt=excerpt,
        duration_s=run.duration_s)))
    return {"passed": False, "feedback": excerpt}


@DBOS.step()
def complete_module(task_id: str, module: str, passed: bool, rounds: int) -> None:
    StepLog(task_id).emit(ModuleComplete(task_id=task_id, data=ModuleCompleteData(
        module=module, passed=passed, rounds=rounds)))


@DBOS.step()
def finish(task_id: str, failed_modules: list[str], started_at: float) -> str:
    log = StepLog(task_id)
    duration = max(time.time() - started_at, 0.0)
    if failed_modules:
        log.emit(TaskFailed(task_id=task_id, data=TaskFailedData(
            reason=f"tests still fail after the last round in: {', '.join(failed_modules)}",
            failed_modules=failed_modules, duration_s=duration)))
        return "failed"
    files = _workspace(task_id).files()
    log.emit(TaskComplete(task_id=task_id, data=TaskCompleteData(files=files,
                                                                 duration_s=duration)))
    return "completed"


def note_resumption(task_id: str) -> None:
    """Record TASK_RESUMED when this execution continues a task an earlier one started.

    Not a step: DBOS runs the workflow body again on every execution, which is what tells a
    resumption apart, and a step added here would renumber the steps of workflows recorded
    before it. Appended only onto the log as read, so it never follows a terminal event.
    """
    store = current_runtime().store
    events = store.read_task(task_id)
    types = [e.type for e in events]
    if "TASK_STARTED" not in types or TERMINAL_TYPES.intersection(types):
        return
    idle = (datetime.now(UTC) - events[-1].timestamp).total_seconds()
    count = types.count("TASK_RESUMED") + 1
    resumed = TaskResumed(
        task_id=task_id, event_id=derived_event_id(f"{task_id}:resumed:{count}"),
        data=TaskResumedData(worker=current_runtime().worker, idle_s=max(idle, 0.0)))
    with contextlib.suppress(ConcurrencyConflict):  # something else was appended meanwhile
        store.append([resumed], expected_version=events[-1].seq)


@DBOS.step()
def now() -> float:
    return time.time()


@DBOS.step()
def fail(task_id: str, reason: str, started_at: float) -> str:
    StepLog(task_id).emit(TaskFailed(task_id=task_id, data=TaskFailedData(
        reason=reason, duration_s=max(time.time() - started_at, 0.0))))
    return "failed"


@DBOS.workflow()
def coding_workflow(task_id: str) -> str:
    """Run the task to TASK_COMPLETE or TASK_FAILED; returns "completed" or "failed".

    Any error (a model that cannot be reached, a broken workspace) ends the task with
    TASK_FAILED naming it, so every task's log ends with a terminal event. A cancelled
    workflow (on request, or past its timeout) stops at its next step and ends the log with
    TASK_CANCELLED naming why (see cancellation.py).
    """
    with cancellation.executing(task_id):
        note_resumption(task_id)
        try:
            started_at = now()
            try:
                return _run(task_id, started_at)
            except Exception as exc:
                return fail(task_id, f"{type(exc).__name__}: {exc}", started_at)
        except cancellation.STOPPED:
            cancellation.record_if_cancelled(current_runtime().store, task_id)
            raise  # DBOS keeps the workflow's outcome


def _run(task_id: str, started_at: float) -> str:
    task = load_task(task_id)
    prompt, max_rounds = task["prompt"], task["max_rounds"]
    modules = start_and_plan(task_id, prompt)
    files: dict[str, str] = {}  # earlier modules stay importable by later ones
    failed: list[str] = []
    for module in modules:
        name = module["name"]
        tests = prepare_module(task_id, prompt, module, task["tests"])
        files[tests["path"]] = tests["code"]
        code: str | None = None
        feedback: str | None = None
        reason: str | None = None
        passed, round_ = False, 0
        for round_ in range(1, max_rounds + 1):
            result = generate(task_id, prompt, module, round_, code, feedback, reason)
            if result["code"] is None:
                feedback, reason = result["feedback"], "quality"
                continue
            if result["code"] == code and reason == "tests" and tests["source"] == "agent":
                tests = replace_disputed_tests(task_id, module, round_)
                files[tests["path"]] = tests["code"]
            code = result["code"]
            files[result["path"]] = code
            outcome = test(task_id, name, round_, files)
            if outcome["passed"]:
                passed = True
                break
            feedback, reason = outcome["feedback"], "tests"
        complete_module(task_id, name, passed, round_)
        if not passed:
            failed.append(name)
    return finish(task_id, failed, started_at)
