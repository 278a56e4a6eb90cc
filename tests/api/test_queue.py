"""The task queue through the API: one task at a time, three waiting at most."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.api.conftest import TASK, TESTS, Served, serving, slow_tests


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("queue"), queue_concurrency=1, queue_max_waiting=3,
                 queue_full_retry_after_s=7) as s:
        yield s


def events_of(served: Served, task_id: str) -> list[dict]:
    with served.client() as http:
        return http.get(f"/v1/tasks/{task_id}/events", params={"limit": 1000}).json()["events"]


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def dbos_log() -> Iterator[Collected]:
    """What DBOS logs at WARNING and above (its logger does not propagate to pytest's)."""
    handler = Collected()
    logging.getLogger("dbos").addHandler(handler)
    yield handler
    logging.getLogger("dbos").removeHandler(handler)


def test_priorities_limits_and_cancellation(served: Served, dbos_log: Collected) -> None:
    http = served.client()
    gate = http.post("/v1/tasks", json={"prompt": TASK, "tests": slow_tests(5)}).json()
    served.wait_for(gate["task_id"], ("running",))
    low = http.post("/v1/tasks", json={"prompt": TASK, "tests": TESTS, "priority": "LOW"})
    medium = http.post("/v1/tasks", json={"prompt": TASK, "tests": TESTS})
    critical = http.post("/v1/tasks", json={"prompt": TASK, "tests": TESTS, "priority": 0})
    assert [r.status_code for r in (low, medium, critical)] == [201, 201, 201]
    assert critical.json()["priority"] == "CRITICAL" and medium.json()["priority"] == "MEDIUM"

    queue = http.get("/v1/queue").json()
    assert queue == {"waiting": {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 1, "LOW": 1,
                                 "BACKGROUND": 0},
                     "waiting_total": 3, "running": 1, "concurrency": 1, "max_waiting": 3}

    full = http.post("/v1/tasks", json={"prompt": TASK, "tests": TESTS})
    assert full.status_code == 429 and full.headers["retry-after"] == "7"
    assert "queue is full: 3 tasks are waiting (at most 3)" in full.json()["detail"]

    # A waiting task is cancelled at once and never starts.
    waiting_id = medium.json()["task_id"]
    cancelled = http.post(f"/v1/tasks/{waiting_id}/cancel", json={"reason": "not needed"})
    assert cancelled.json()["outcome"] == "cancelled"
    assert [e["type"] for e in events_of(served, waiting_id)] == ["TASK_CREATED",
                                                                  "TASK_CANCELLED"]
    assert events_of(served, waiting_id)[-1]["data"]["reason"] == (
        "cancelled by a local HTTP client: not needed")

    # The running task stops at its next step; TASK_CANCELLED is its last event.
    gate_id = gate["task_id"]
    stopping = http.post(f"/v1/tasks/{gate_id}/cancel").json()
    assert stopping["outcome"] in ("cancelling", "cancelled")
    assert served.wait_for(gate_id)["status"] == "cancelled"
    again = http.post(f"/v1/tasks/{gate_id}/cancel").json()
    assert again["outcome"] == "already_finished" and again["status"] == "cancelled"
    gate_log = events_of(served, gate_id)
    assert "TASK_STARTED" in [e["type"] for e in gate_log]
    assert gate_log[-1]["type"] == "TASK_CANCELLED"
    assert gate_log[-1]["data"]["reason"] == "cancelled by a local HTTP client"
    assert [e["type"] for e in gate_log].count("TASK_CANCELLED") == 1
    # Cancelling a running task is a normal outcome, not an error with a traceback.
    assert not [r.getMessage() for r in dbos_log.records if r.levelno >= logging.ERROR]

    # The rest run by priority: CRITICAL starts before LOW, though submitted after it.
    for reply in (low, critical):
        assert served.wait_for(reply.json()["task_id"])["status"] == "completed"
    started = {name: next(e["position"] for e in events_of(served, reply.json()["task_id"])
                          if e["type"] == "TASK_STARTED")
               for name, reply in (("low", low), ("critical", critical))}
    assert started["critical"] < started["low"]
    assert http.get("/v1/queue").json()["waiting_total"] == 0
    http.close()


def test_a_task_past_its_timeout_is_cancelled_with_the_reason(served: Served) -> None:
    with served.client() as http:
        task_id = http.post("/v1/tasks", json={"prompt": TASK, "tests": slow_tests(3),
                                               "timeout_s": 1}).json()["task_id"]
    state = served.wait_for(task_id)
    assert state["status"] == "cancelled"
    assert state["reason"] == "timed out: the task ran longer than its limit of 1 s"
    log = events_of(served, task_id)
    assert log[-1]["type"] == "TASK_CANCELLED" and log[0]["data"]["timeout_s"] == 1
