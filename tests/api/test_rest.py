"""The REST API against a real server: httpx over loopback, tasks run by the scripted model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import RIGHT, TASK, TESTS, Served, serving


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("rest")) as s:
        yield s


@pytest.fixture(scope="module")
def finished(served: Served) -> str:
    """A task run to the end through the API."""
    with served.client() as http:
        created = http.post("/v1/tasks", json={"prompt": TASK, "tests": TESTS})
    assert created.status_code == 201, created.text
    task_id = created.json()["task_id"]
    assert served.wait_for(task_id)["status"] == "completed"
    return task_id


def test_a_submitted_task_answers_201_with_its_links(served: Served) -> None:
    with served.client() as http:
        reply = http.post("/v1/tasks", json={"prompt": TASK, "tests": TESTS, "priority": 10})
    assert reply.status_code == 201
    body = reply.json()
    task_id = body["task_id"]
    assert body["status"] in ("created", "running") and body["priority"] == "HIGH"
    assert body["links"] == {"self": f"/v1/tasks/{task_id}",
                             "events": f"/v1/tasks/{task_id}/events",
                             "stream": f"/v1/tasks/{task_id}/stream",
                             "sse": f"/v1/tasks/{task_id}/events/stream"}
    assert served.wait_for(task_id)["status"] == "completed"


def test_the_state_is_the_projection_of_the_log(served: Served, finished: str) -> None:
    with served.client() as http:
        state = http.get(f"/v1/tasks/{finished}").json()
        events = http.get(f"/v1/tasks/{finished}/events", params={"limit": 1000}).json()
    assert state["status"] == "completed" and state["modules"]["add"]["status"] == "passed"
    assert state["modules"]["add"]["code"] == RIGHT
    assert state["last_seq"] == len(events["events"]) and not events["has_more"]


def test_events_come_in_pages_with_has_more(served: Served, finished: str) -> None:
    seqs: list[int] = []
    after = 0
    with served.client() as http:
        while True:
            page = http.get(f"/v1/tasks/{finished}/events",
                            params={"after": after, "limit": 4}).json()
            seqs += [e["seq"] for e in page["events"]]
            assert all("position" in e for e in page["events"])
            after = page["next_after"]
            if not page["has_more"]:
                break
            assert len(page["events"]) == 4
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 8


def test_state_at_a_seq_or_a_time_travels_back(served: Served, finished: str) -> None:
    with served.client() as http:
        events = http.get(f"/v1/tasks/{finished}/events").json()["events"]
        at_seq = http.get(f"/v1/tasks/{finished}/state", params={"at": "2"}).json()
        at_time = http.get(f"/v1/tasks/{finished}/state",
                           params={"at": events[0]["timestamp"]}).json()
        bad = http.get(f"/v1/tasks/{finished}/state", params={"at": "yesterday"})
    assert at_seq["last_seq"] == 2 and at_seq["status"] == "running"
    assert at_time["last_seq"] == 1 and at_time["status"] == "created"
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "at"]
    assert "neither a seq number nor an ISO 8601 time" in bad.json()["detail"][0]["msg"]


def test_workspace_files_are_listed_and_read(served: Served, finished: str) -> None:
    with served.client() as http:
        files = http.get(f"/v1/tasks/{finished}/files").json()["files"]
        code = http.get(f"/v1/tasks/{finished}/files/add.py")
        missing = http.get(f"/v1/tasks/{finished}/files/nope.py")
        escaping = http.get(f"/v1/tasks/{finished}/files/a/%2E%2E/%2E%2E/podium.db")
    assert files == ["add.py", "test_add.py"]
    assert code.status_code == 200 and code.text == RIGHT
    assert missing.status_code == 404 and "nope.py" in missing.json()["detail"]
    assert escaping.status_code == 422
    assert "inside the task's workspace" in escaping.json()["detail"][0]["msg"]


def test_cancelling_a_finished_task_is_a_clear_no_op(served: Served, finished: str) -> None:
    with served.client() as http:
        before = http.get(f"/v1/tasks/{finished}/events").json()["events"]
        first = http.post(f"/v1/tasks/{finished}/cancel").json()
        second = http.post(f"/v1/tasks/{finished}/cancel", json={"reason": "again"}).json()
        after = http.get(f"/v1/tasks/{finished}/events").json()["events"]
    for reply in (first, second):
        assert reply["outcome"] == "already_finished" and reply["status"] == "completed"
        assert "already completed; nothing to cancel" in reply["message"]
    assert after == before


def test_invalid_input_gets_422_naming_each_field(served: Served) -> None:
    with served.client() as http:
        before = len(http.get("/v1/tasks", params={"limit": 500}).json()["tasks"])
        reply = http.post("/v1/tasks", json={"prompt": "", "priority": "URGENT",
                                             "max_rounds": 0, "budget_usd": -1,
                                             "timeout_s": 0, "colour": "red"})
        blank = http.post("/v1/tasks", json={"prompt": "   "})
        huge = http.post("/v1/tasks", json={"prompt": "x" * 100_001})
        provider = http.post("/v1/tasks", json={"prompt": TASK, "provider": "nonsense"})
        task_id = http.post("/v1/tasks", json={"prompt": TASK, "task_id": "../escape"})
        after = len(http.get("/v1/tasks", params={"limit": 500}).json()["tasks"])
    assert reply.status_code == 422
    fields = {tuple(d["loc"][:2]) for d in reply.json()["detail"]}
    assert fields >= {("body", "prompt"), ("body", "priority"), ("body", "max_rounds"),
                      ("body", "budget_usd"), ("body", "timeout_s"), ("body", "colour")}
    assert blank.status_code == 422 and "prompt is empty" in blank.text
    assert huge.status_code == 422 and huge.json()["detail"][0]["loc"] == ["body", "prompt"]
    assert provider.status_code == 422
    assert provider.json()["detail"][0]["loc"] == ["body", "provider"]
    assert "'nonsense' is not available" in provider.json()["detail"][0]["msg"]
    assert task_id.status_code == 422
    assert task_id.json()["detail"][0]["loc"] == ["body", "task_id"]
    assert after == before  # nothing was recorded


def test_positions_beyond_what_the_store_holds_get_422(served: Served, finished: str) -> None:
    too_big = str(2**63)  # one past SQLite's largest INTEGER
    with served.client() as http:
        events = http.get(f"/v1/tasks/{finished}/events", params={"after": too_big})
        tasks = http.get("/v1/tasks", params={"before": too_big})
        state = http.get(f"/v1/tasks/{finished}/state", params={"at": too_big})
        sse = http.get(f"/v1/tasks/{finished}/events/stream", headers={"Last-Event-ID": too_big})
    for reply, where in ((events, ["query", "after"]), (tasks, ["query", "before"]),
                         (state, ["query", "at"]), (sse, ["header", "Last-Event-ID"])):
        assert reply.status_code == 422, (where, reply.text)
        assert reply.json()["detail"][0]["loc"] == where


def test_an_unknown_task_is_404_everywhere(served: Served) -> None:
    with served.client() as http:
        for method, path in (("GET", ""), ("GET", "/events"), ("GET", "/state?at=1"),
                             ("GET", "/files"), ("GET", "/files/a.py"), ("POST", "/cancel"),
                             ("GET", "/events/stream")):
            reply = http.request(method, f"/v1/tasks/no-such-task{path}")
            assert reply.status_code == 404, (path, reply.text)
            assert "no-such-task" in reply.json()["detail"]


def test_tasks_are_listed_by_status_in_pages(served: Served, finished: str) -> None:
    with served.client() as http:
        ids = [http.post("/v1/tasks", json={"prompt": TASK, "tests": TESTS}).json()["task_id"]
               for _ in range(2)]
        for task_id in ids:
            served.wait_for(task_id)
        seen: list[str] = []
        before = None
        while True:
            params = {"status": "completed", "limit": 2} | ({"before": before} if before else {})
            page = http.get("/v1/tasks", params=params).json()
            assert all(t["status"] == "completed" for t in page["tasks"])
            seen += [t["task_id"] for t in page["tasks"]]
            before = page["next_before"]
            if before is None:
                break
        running = http.get("/v1/tasks", params={"status": "running"}).json()["tasks"]
        bad = http.get("/v1/tasks", params={"status": "sleeping"})
    assert len(seen) == len(set(seen)) and {finished, *ids} <= set(seen)
    assert seen.index(ids[1]) < seen.index(ids[0])  # newest first
    assert not {t["task_id"] for t in running} & set(seen)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "status"]


def test_probes_providers_and_metrics(served: Served, finished: str) -> None:
    with served.client() as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz")
        providers = http.get("/v1/providers").json()
        metrics = http.get("/metrics")
        stats = http.get("/v1/ws-stats").json()
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["database"]["ok"] is True
    assert providers == [{"name": "scripted", "model": "scripted", "status": "unknown",
                          "detail": "this provider has no health check",
                          "models": ["scripted"], "breaker": None, "deployment": None,
                          "requests_today": None}]
    assert stats == {"connections": 0, "capacity": 1000, "utilization": 0.0}
    text = metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")
    for line in ('podium_tasks{status="completed"}', 'podium_queue_waiting{priority="HIGH"}',
                 "podium_queue_running", "podium_websocket_connections",
                 'podium_llm_requests_total{model="scripted",provider="scripted"}',
                 'podium_llm_tokens_total{direction="out",model="scripted",provider="scripted"}',
                 'podium_llm_cost_usd_total{model="scripted",provider="scripted"}',
                 'podium_llm_latency_seconds_count{model="scripted",provider="scripted"}',
                 "podium_event_append_seconds_count",
                 'podium_http_requests_total{method="GET",route="/v1/tasks/{task_id}"'):
        assert line in text, line
    completed = next(line for line in text.splitlines()
                     if line.startswith('podium_tasks{status="completed"}'))
    assert float(completed.split()[-1]) >= 1
    appends = next(line for line in text.splitlines()
                   if line.startswith("podium_event_append_seconds_count"))
    assert float(appends.split()[-1]) > 0
