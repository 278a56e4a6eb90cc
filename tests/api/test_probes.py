"""Readiness follows the provider's own health check (an unreachable model server, a model file
that is there or not) and whether the database file can still be opened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.api.provider_status import ProviderMonitor
from podium.providers import EmbeddedProvider, OpenAICompatProvider
from tests.api.conftest import Served, free_loopback_socket, serving, wait_until


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    closed = free_loopback_socket()  # bound, never listening: connections are refused
    provider = OpenAICompatProvider(f"http://127.0.0.1:{closed.getsockname()[1]}/v1",
                                    api_key=None, model="coder", connect_s=2)
    with serving(tmp_path_factory.mktemp("probes"), provider=provider) as s:
        yield s
    closed.close()


def test_readyz_is_503_naming_the_provider_when_every_provider_is_down(served: Served) -> None:
    with served.client() as http:
        ready = http.get("/readyz")
        providers = http.get("/v1/providers").json()
        alive = http.get("/healthz")
    assert alive.status_code == 200
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready" and body["database"]["ok"] is True
    assert body["reason"].startswith("every provider is down: openai: ")
    assert providers[0]["name"] == "openai" and providers[0]["model"] == "coder"
    assert providers[0]["status"] == "down" and providers[0]["detail"]


async def test_the_embedded_model_is_up_when_its_file_is_there(tmp_path: Path) -> None:
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")  # the check looks for the file; it does not load it
    (report,) = await ProviderMonitor(EmbeddedProvider(model_path=model)).reports()
    assert report.status == "up" and report.name == "embedded"
    (missing,) = await ProviderMonitor(EmbeddedProvider(model_path=tmp_path / "gone.gguf")
                                       ).reports()
    assert missing.status == "down" and "model file missing" in missing.detail


def test_readyz_is_503_naming_the_database_while_its_file_is_gone(served: Served) -> None:
    database = served.settings.database
    moved = database.with_name("moved-away.db")
    with served.client() as http:
        database.rename(moved)  # as an operator's mistake would: open connections still work
        try:
            gone = http.get("/readyz")
        finally:
            moved.rename(database)
        back = wait_until(lambda: (r := http.get("/readyz")).json()["database"]["ok"] and r,
                          "the database to be readable again", timeout=30)
    assert gone.status_code == 503
    body = gone.json()
    assert body["database"]["ok"] is False
    assert body["database"]["detail"].startswith(f"cannot read the event store at {database}")
    assert "cannot read the event store" in body["reason"]
    assert back.json()["database"] == {"ok": True, "detail": database.name}
