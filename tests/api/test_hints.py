"""A server whose router has a cloud and a local deployment (protocol fakes on loopback):
each task's model calls go where its hints say, and /v1/providers reports each deployment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from podium.providers import Router
from tests.api.conftest import TASK, TESTS, Served, serving
from tests.providers.fakes import ollama, openai_cloud
from tests.providers.fakes.harness import FakeServer
from tests.providers.routers import ollama_deployment, openai_deployment, router


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    cloud, local = FakeServer(openai_cloud.build).start(), FakeServer(ollama.build).start()
    routed: Router = router(openai_deployment(cloud, "cloud"), ollama_deployment(local, "local"))
    try:
        with serving(tmp_path_factory.mktemp("hints"), provider=routed) as s:
            yield s
    finally:
        routed.close()
        cloud.stop()
        local.stop()


def deployments_called(served: Served, task_id: str) -> set[str]:
    with served.client() as http:
        events = http.get(f"/v1/tasks/{task_id}/events", params={"limit": 1000}).json()
    return {e["data"]["deployment"] for e in events["events"] if e["type"] == "LLM_CALL"}


@pytest.mark.parametrize(("hints", "deployment"), [
    ({"provider": "ollama"}, "local"),
    ({"provider": "cloud"}, "cloud"),  # a deployment's name
    ({"model": "qwen2.5-coder:7b"}, "local"),
    ({"provider": "openai", "model": "gpt-4o"}, "cloud"),
])
def test_each_model_call_goes_where_the_hints_say(served: Served, hints: dict[str, str],
                                                  deployment: str) -> None:
    with served.client() as http:
        reply = http.post("/v1/tasks", json={"prompt": TASK, "tests": TESTS} | hints)
    assert reply.status_code == 201, reply.text
    task_id = reply.json()["task_id"]
    assert served.wait_for(task_id)["status"] == "completed"
    assert deployments_called(served, task_id) == {deployment}


def test_hints_nothing_serves_get_422_naming_what_is_offered(served: Served) -> None:
    with served.client() as http:
        provider = http.post("/v1/tasks", json={"prompt": TASK, "provider": "anthropic"})
        model = http.post("/v1/tasks", json={"prompt": TASK, "provider": "ollama",
                                              "model": "gpt-4o"})
    assert provider.status_code == 422
    (detail,) = provider.json()["detail"]
    assert detail["loc"] == ["body", "provider"]
    assert detail["msg"] == ("provider 'anthropic' is not available; this server runs cloud, "
                             "local, ollama, openai")
    assert model.status_code == 422
    (detail,) = model.json()["detail"]
    assert detail["loc"] == ["body", "model"]
    assert detail["msg"] == ("model 'gpt-4o' is not available from ollama; this server runs "
                             "qwen2.5-coder:7b")


def test_each_deployment_is_reported_with_its_health_and_breaker(served: Served) -> None:
    with served.client() as http:
        reports = {p["deployment"]: p for p in http.get("/v1/providers").json()}
        ready = http.get("/readyz").json()
    assert set(reports) == {"cloud", "local"}
    assert reports["cloud"]["name"] == "openai" and reports["cloud"]["model"] == "gpt-4o"
    assert reports["local"]["name"] == "ollama"
    assert "qwen2.5-coder:7b" in reports["local"]["models"]
    assert all(r["status"] == "up" and r["breaker"] == "closed" for r in reports.values())
    assert ready["status"] == "ready" and len(ready["providers"]) == 2
