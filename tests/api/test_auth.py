"""API keys on a real server: scopes, tenants, revocation, per-key rate limits, no leaks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from podium.api import KeyStore
from tests.api.conftest import (
    TASK,
    TESTS,
    Served,
    call,
    error_of,
    http_session,
    serving,
    wait_until,
)

PER_MINUTE = 30


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("auth")


@pytest.fixture(scope="module")
def keys(home: Path) -> KeyStore:
    return KeyStore(home / "podium.db")


@pytest.fixture(scope="module")
def served(home: Path, keys: KeyStore) -> Iterator[Served]:
    keys.create(name="ops", tenant="default", scopes=["admin"])  # keys exist: auth is on
    with serving(home, requests_per_minute=PER_MINUTE) as s:
        yield s


def new_key(keys: KeyStore, *scopes: str, tenant: str = "acme") -> str:
    return keys.create(name="test", tenant=tenant, scopes=scopes)[1]


def test_without_a_key_only_probes_and_docs_answer(served: Served) -> None:
    with served.client() as http:
        refused = http.get("/v1/tasks")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "an API key is required" in refused.json()["detail"]
        for path in ("/healthz", "/readyz", "/openapi.json", "/docs"):
            assert http.get(path).status_code == 200, path
        assert httpx.post(f"{served.url}/mcp", json={}).status_code == 401
    for wrong in ("pod_0123456789abcdef_" + "x" * 43, "not-a-key"):
        with served.client(wrong) as http:
            reply = http.get("/v1/tasks")
        assert reply.status_code == 401 and "invalid or revoked" in reply.json()["detail"]


def test_scopes_decide_what_a_key_may_do(served: Served, keys: KeyStore) -> None:
    reader, writer = new_key(keys, "tasks:read"), new_key(keys, "tasks:write")
    admin = new_key(keys, "admin")
    with served.client(reader) as http:
        assert http.get("/v1/tasks").status_code == 200
        denied = http.post("/v1/tasks", json={"prompt": TASK})
        assert denied.status_code == 403 and "'tasks:write'" in denied.json()["detail"]
        assert http.get("/metrics").status_code == 403
    with served.client(writer) as http:
        task_id = http.post("/v1/tasks", json={"prompt": TASK, "tests": TESTS}).json()["task_id"]
        assert http.get(f"/v1/tasks/{task_id}").status_code == 403
    with served.client(admin) as http:
        assert http.get(f"/v1/tasks/{task_id}").status_code == 200
        assert "podium_tasks" in http.get("/metrics").text


async def test_each_tenant_sees_only_its_own_tasks(served: Served, keys: KeyStore) -> None:
    acme, globex = new_key(keys, "tasks:read", "tasks:write"), new_key(
        keys, "tasks:read", "tasks:write", tenant="globex")
    with served.client(acme) as http:
        task_id = http.post("/v1/tasks", json={"prompt": TASK, "tests": TESTS}).json()["task_id"]
        assert http.get(f"/v1/tasks/{task_id}").status_code == 200
        assert task_id in [t["task_id"] for t in http.get("/v1/tasks").json()["tasks"]]
    with served.client(globex) as http:
        for method, path in (("GET", ""), ("GET", "/events"), ("GET", "/state?at=1"),
                             ("GET", "/files"), ("POST", "/cancel"), ("GET", "/events/stream")):
            assert http.request(method, f"/v1/tasks/{task_id}{path}").status_code == 404, path
        assert task_id not in [t["task_id"] for t in http.get("/v1/tasks").json()["tasks"]]
        taken = http.post("/v1/tasks", json={"prompt": TASK, "task_id": task_id})
        assert taken.status_code == 422 and "already taken" in taken.text
    async with connect(f"{served.ws_url}/v1/tasks/{task_id}/stream",
                       additional_headers={"Authorization": f"Bearer {globex}"}) as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 4404
    async with http_session(served, globex) as session:
        assert "no task with id" in await error_of(session, "get_task_status", task_id=task_id)
        listed = await call(session, "list_tasks")
        assert task_id not in [t["task_id"] for t in listed["tasks"]]
    with served.client(acme) as http:
        reason = http.post(f"/v1/tasks/{task_id}/cancel").json()
        log = http.get(f"/v1/tasks/{task_id}/events", params={"limit": 1000}).text
    assert reason["outcome"] in ("cancelled", "cancelling", "already_finished")
    assert acme not in log and acme.split("_")[2] not in log  # no secret in any event


async def test_streams_need_a_key_too(served: Served, keys: KeyStore) -> None:
    async with connect(f"{served.ws_url}/v1/tasks/any/stream") as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 4401 and "API key is required" in ws.close_reason
    writer = new_key(keys, "tasks:write")
    async with connect(f"{served.ws_url}/v1/tasks/any/stream",
                       additional_headers={"X-API-Key": writer}) as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 4403


def test_a_revoked_key_is_refused_at_once(served: Served, keys: KeyStore) -> None:
    key, secret = keys.create(name="temp", tenant="acme", scopes=["tasks:read"])
    with served.client(secret) as http:
        assert http.get("/v1/queue").status_code == 200
        keys.revoke(key.key_id)
        assert http.get("/v1/queue").status_code == 401


def test_a_key_past_its_rate_limit_gets_429_with_retry_after(served: Served,
                                                            keys: KeyStore) -> None:
    busy, other = new_key(keys, "tasks:read"), new_key(keys, "tasks:read")
    with served.client(busy) as http:
        codes = [http.get("/v1/queue").status_code for _ in range(PER_MINUTE)]
        limited = http.get("/v1/queue")
    assert codes == [200] * PER_MINUTE
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == str(60 // PER_MINUTE)
    assert "rate limit of 30 requests a minute" in limited.json()["detail"]
    with served.client(other) as http:
        assert http.get("/v1/queue").status_code == 200  # each key has its own budget


def test_no_secret_or_query_string_reaches_the_log(served: Served, keys: KeyStore,
                                                   server_log: Path) -> None:
    key, secret = keys.create(name="logged", tenant="acme", scopes=["tasks:read"])
    start = server_log.stat().st_size
    with served.client(secret) as http:
        http.get("/v1/tasks/some-task", params={"at": "1", "token": "hush-hush"})
    # The line is written once the answer has gone out.
    text = wait_until(lambda: key.key_id in (new := server_log.read_text()[start:]) and new,
                      "the request's log line")
    (line,) = [json.loads(row) for row in text.splitlines() if key.key_id in row]
    assert line["path"] == "/v1/tasks/some-task" and line["task_id"] == "some-task"
    assert line["status"] == 404 and line["level"] == "info"
    assert secret not in text and "hush-hush" not in text
