import pytest

from podium.events.types import (
    BugReportReceived,
    BugReportReceivedData,
    CorrectionCompleted,
    CorrectionCompletedData,
    CorrectionStarted,
    CorrectionStartedData,
    LlmCall,
    LlmCallData,
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
    TaskCancelled,
    TaskCancelledData,
    TaskComplete,
    TaskCompleteData,
    TaskFailed,
    TaskFailedData,
    TaskResumed,
    TaskResumedData,
    TaskStarted,
    TaskStartedData,
    TestPassed,
    TestPassedData,
    TestStarted,
    TestStartedData,
    TestsWritten,
    TestsWrittenData,
    ViolationData,
)

from .factories import code, created, failed


@pytest.fixture
def minimal_events():
    """One event of every type, in an order a real task could produce (ends completed)."""
    t = "task-1"
    return [
        created(), TaskStarted(task_id=t, data=TaskStartedData(worker="a")),
        TaskResumed(task_id=t, data=TaskResumedData(worker="b", idle_s=12.5)),
        PlanningComplete(task_id=t, data=PlanningCompleteData(modules=[ModulePlan(name="main")])),
        ModuleStarted(task_id=t, data=ModuleStartedData(module="main")),
        ModuleIteration(task_id=t, data=ModuleIterationData(module="main", round=1)),
        LlmCall(task_id=t, data=LlmCallData(purpose="code", provider="p", model="m",
                                            tokens_in=1, tokens_out=1, latency_s=0)),
        code(1),
        TestsWritten(task_id=t, data=TestsWrittenData(module="main", path="test_main.py",
                                                      code="def test(): pass", source="agent")),
        QualityViolation(task_id=t, data=QualityViolationData(
            module="main", round=1, violations=[ViolationData(rule="syntax", message="x")])),
        TestStarted(task_id=t, data=TestStartedData(module="main", round=1,
                                                    isolation="bubblewrap", command=["pytest"])),
        failed(1),
        CorrectionStarted(task_id=t, data=CorrectionStartedData(module="main", round=2,
                                                                reason="tests", feedback="x")),
        CorrectionCompleted(task_id=t, data=CorrectionCompletedData(module="main", round=2)),
        BugReportReceived(task_id=t, code_version=1,
                          data=BugReportReceivedData(module="main", description="bug")),
        TestPassed(task_id=t, code_version=1, vector_clock={"coder": 1, "t": 9},
                   data=TestPassedData(module="main", round=2, tests_passed=1, duration_s=0)),
        ModuleComplete(task_id=t, data=ModuleCompleteData(module="main", passed=True, rounds=2)),
        TaskFailed(task_id=t, data=TaskFailedData(reason="x")),
        TaskCancelled(task_id=t, data=TaskCancelledData(reason="x")),
        TaskComplete(task_id=t, data=TaskCompleteData(files=[], duration_s=0)),
    ]  # fmt: skip
