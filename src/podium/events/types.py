"""Every event type Podium writes, each a frozen envelope with a typed payload.

Payloads forbid unknown fields and hold only JSON values, so a bad event fails at construction
rather than when it is stored or read back.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from podium.events.envelope import Envelope, UnknownData


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    __test__ = False  # "TestPassedData" and friends are payloads, not pytest test classes


class ModulePlan(Payload):
    name: str = Field(min_length=1)  # a Python module name, e.g. "validators"
    purpose: str = ""
    interface: str = ""  # the signatures other modules and the tests rely on


class ViolationData(Payload):
    rule: str
    message: str
    lines: list[int] = []


# --- payloads -------------------------------------------------------------------------------


class TaskCreatedData(Payload):
    prompt: str = Field(min_length=1)
    tests: str | None = None  # tests supplied with the task; None means the agents write them
    provider: str
    model: str
    max_rounds: int = Field(ge=1)
    workspace: str
    tenant: str = "default"  # whose task it is: API keys of other tenants do not see it
    priority: int = Field(default=20, ge=0)  # queue priority: lower starts first
    timeout_s: float | None = Field(default=None, gt=0)  # cancelled when it runs longer
    budget_usd: float | None = Field(default=None, gt=0)  # spending limit asked for
    # Hints given at submission: every model call of the task goes to a match (None: any).
    provider_hint: str | None = None
    model_hint: str | None = None


class TaskStartedData(Payload):
    worker: str = ""


class TaskResumedData(Payload):
    worker: str = ""  # the process that took the task over
    # Since the log's previous event: the interruption, plus any work lost with it.
    idle_s: float = Field(ge=0)


class PlanningCompleteData(Payload):
    modules: list[ModulePlan] = Field(min_length=1)
    fallback: bool = False  # True when the model's plan was unusable and a one-module plan was used
    reason: str = ""


class ModuleStartedData(Payload):
    module: str


class ModuleIterationData(Payload):
    module: str
    round: int = Field(ge=1)


class CodeGeneratedData(Payload):
    module: str
    round: int = Field(ge=1)
    path: str
    code: str


class TestsWrittenData(Payload):
    module: str
    path: str
    code: str
    source: Literal["task", "doctest", "agent", "smoke"]
    note: str = ""  # why these tests replaced earlier ones, if they did


class QualityViolationData(Payload):
    module: str
    round: int = Field(ge=1)
    violations: list[ViolationData] = Field(min_length=1)
    code: str = ""  # the rejected code, so the log shows what the gate saw


class TestStartedData(Payload):
    module: str
    round: int = Field(ge=1)
    isolation: str
    command: list[str]


class TestPassedData(Payload):
    module: str
    round: int = Field(ge=1)
    tests_passed: int = Field(ge=0)
    duration_s: float = Field(ge=0)


class TestFailedData(Payload):
    module: str
    round: int = Field(ge=1)
    tests_passed: int = Field(ge=0)
    tests_failed: int = Field(ge=0)
    stopped: str | None = None  # why the sandbox stopped the run, e.g. "timeout"
    excerpt: str
    duration_s: float = Field(ge=0)


class CorrectionStartedData(Payload):
    module: str
    round: int = Field(ge=1)  # the round the correction produces
    reason: Literal["quality", "tests"]
    feedback: str


class CorrectionCompletedData(Payload):
    module: str
    round: int = Field(ge=1)


class BugReportReceivedData(Payload):
    module: str
    description: str = Field(min_length=1)
    reporter: str = "human"


class ModuleCompleteData(Payload):
    module: str
    passed: bool
    rounds: int = Field(ge=0)


class LlmCallData(Payload):
    purpose: str
    provider: str
    model: str
    tokens_in: int = Field(ge=0)
    tokens_out: int = Field(ge=0)
    latency_s: float = Field(ge=0)
    cost_usd: float = Field(default=0.0, ge=0)
    finish_reason: str = ""
    module: str | None = None
    extra: dict[str, JsonValue] = {}
    deployment: str = ""  # the router's deployment that answered
    attempt: int = Field(default=1, ge=1)  # requests sent for this call, retries included
    fallback: bool = False  # answered by a deployment after the first one planned
    cost_estimated: bool = False  # usage or price was not reported, so the cost is estimated
    ttft_s: float | None = Field(default=None, ge=0)  # latency to the first token
    route_reason: str = ""  # why that deployment, and what failed before it


class TaskCompleteData(Payload):
    files: list[str]
    duration_s: float = Field(ge=0)


class TaskFailedData(Payload):
    reason: str
    failed_modules: list[str] = []
    duration_s: float = Field(default=0.0, ge=0)


class TaskCancelledData(Payload):
    reason: str


# --- events ---------------------------------------------------------------------------------


class TaskCreated(Envelope):
    type: Literal["TASK_CREATED"] = "TASK_CREATED"
    data: TaskCreatedData


class TaskStarted(Envelope):
    type: Literal["TASK_STARTED"] = "TASK_STARTED"
    data: TaskStartedData = TaskStartedData()


class TaskResumed(Envelope):
    """An execution continued a task that an earlier one had started: the process running it
    stopped (a crash, a kill, a shutdown) and this one took it over."""

    type: Literal["TASK_RESUMED"] = "TASK_RESUMED"
    data: TaskResumedData


class PlanningComplete(Envelope):
    type: Literal["PLANNING_COMPLETE"] = "PLANNING_COMPLETE"
    data: PlanningCompleteData


class ModuleStarted(Envelope):
    type: Literal["MODULE_STARTED"] = "MODULE_STARTED"
    data: ModuleStartedData


class ModuleIteration(Envelope):
    type: Literal["MODULE_ITERATION"] = "MODULE_ITERATION"
    data: ModuleIterationData


class CodeGenerated(Envelope):
    type: Literal["CODE_GENERATED"] = "CODE_GENERATED"
    data: CodeGeneratedData


class TestsWritten(Envelope):
    type: Literal["TESTS_WRITTEN"] = "TESTS_WRITTEN"
    data: TestsWrittenData


class QualityViolation(Envelope):
    type: Literal["QUALITY_VIOLATION"] = "QUALITY_VIOLATION"
    data: QualityViolationData


class TestStarted(Envelope):
    type: Literal["TEST_STARTED"] = "TEST_STARTED"
    data: TestStartedData


class TestPassed(Envelope):
    type: Literal["TEST_PASSED"] = "TEST_PASSED"
    data: TestPassedData


class TestFailed(Envelope):
    type: Literal["TEST_FAILED"] = "TEST_FAILED"
    data: TestFailedData


class CorrectionStarted(Envelope):
    type: Literal["CORRECTION_STARTED"] = "CORRECTION_STARTED"
    data: CorrectionStartedData


class CorrectionCompleted(Envelope):
    type: Literal["CORRECTION_COMPLETED"] = "CORRECTION_COMPLETED"
    data: CorrectionCompletedData


class BugReportReceived(Envelope):
    type: Literal["BUG_REPORT_RECEIVED"] = "BUG_REPORT_RECEIVED"
    data: BugReportReceivedData


class ModuleComplete(Envelope):
    type: Literal["MODULE_COMPLETE"] = "MODULE_COMPLETE"
    data: ModuleCompleteData


class LlmCall(Envelope):
    type: Literal["LLM_CALL"] = "LLM_CALL"
    data: LlmCallData


class TaskComplete(Envelope):
    type: Literal["TASK_COMPLETE"] = "TASK_COMPLETE"
    data: TaskCompleteData


class TaskFailed(Envelope):
    type: Literal["TASK_FAILED"] = "TASK_FAILED"
    data: TaskFailedData


class TaskCancelled(Envelope):
    type: Literal["TASK_CANCELLED"] = "TASK_CANCELLED"
    data: TaskCancelledData


class UnknownEvent(Envelope):
    """An event whose type this version does not know (written by a newer Podium, say).

    It is kept in the log and handed to readers as is; projections skip it with a warning.
    """

    type: str
    data: UnknownData


KnownEvent = Annotated[
    TaskCreated
    | TaskStarted
    | TaskResumed
    | PlanningComplete
    | ModuleStarted
    | ModuleIteration
    | CodeGenerated
    | TestsWritten
    | QualityViolation
    | TestStarted
    | TestPassed
    | TestFailed
    | CorrectionStarted
    | CorrectionCompleted
    | BugReportReceived
    | ModuleComplete
    | LlmCall
    | TaskComplete
    | TaskFailed
    | TaskCancelled,
    Field(discriminator="type"),
]

Event = KnownEvent | UnknownEvent

EVENT_TYPES: dict[str, type[Envelope]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        TaskCreated, TaskStarted, TaskResumed, PlanningComplete, ModuleStarted, ModuleIteration,
        CodeGenerated, TestsWritten, QualityViolation, TestStarted, TestPassed, TestFailed,
        CorrectionStarted, CorrectionCompleted, BugReportReceived, ModuleComplete, LlmCall,
        TaskComplete, TaskFailed, TaskCancelled,
    )
}  # fmt: skip

TERMINAL_TYPES = frozenset({"TASK_COMPLETE", "TASK_FAILED", "TASK_CANCELLED"})
