"""MCP with the SDK's own clients: streamable HTTP at /mcp, and stdio with `podium mcp`."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from tests.api.conftest import (
    SCRIPT,
    TASK,
    TESTS,
    WAIT_S,
    Served,
    call,
    error_of,
    http_session,
    serving,
)

TOOLS = {"start_coding_task", "get_task_status", "get_task_events", "list_tasks",
         "cancel_task"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("mcp")) as s:
        yield s


async def until_finished(session: ClientSession, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        state = await call(session, "get_task_status", task_id=task_id)
        if state["status"] in ("completed", "failed", "cancelled"):
            return state
        await asyncio.sleep(0.2)
    raise AssertionError(f"task {task_id} did not finish in {WAIT_S} s")


async def test_the_tools_have_typed_inputs(served: Served) -> None:
    async with http_session(served) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == TOOLS
    start = tools["start_coding_task"].input_schema
    assert start["required"] == ["prompt"]
    assert start["properties"]["prompt"]["maxLength"] == 100_000
    assert "CRITICAL" in json.dumps(start["properties"]["priority"])
    assert tools["get_task_events"].input_schema["properties"]["limit"]["maximum"] == 500


async def test_tasks_are_shared_between_mcp_and_rest(served: Served) -> None:
    async with http_session(served) as session:
        started = await call(session, "start_coding_task", prompt=TASK, tests=TESTS,
                             priority="HIGH")
        by_mcp = started["task_id"]
        with served.client() as http:
            assert http.get(f"/v1/tasks/{by_mcp}").json()["prompt"] == TASK
            by_rest = http.post("/v1/tasks", json={"prompt": TASK, "tests": TESTS}
                                ).json()["task_id"]
        assert (await call(session, "get_task_status", task_id=by_rest))["prompt"] == TASK
        for task_id in (by_mcp, by_rest):
            assert (await until_finished(session, task_id))["status"] == "completed"
        assert served.wait_for(by_mcp)["status"] == "completed"

        page = await call(session, "get_task_events", task_id=by_mcp, limit=3)
        assert [e["seq"] for e in page["events"]] == [1, 2, 3] and page["has_more"]
        listed = await call(session, "list_tasks", status="completed")
        assert {by_mcp, by_rest} <= {t["task_id"] for t in listed["tasks"]}
        cancelled = await call(session, "cancel_task", task_id=by_mcp)
        assert cancelled["outcome"] == "already_finished"


async def test_tool_errors_say_what_was_wrong(served: Served) -> None:
    async with http_session(served) as session:
        assert "no task with id 'nope'" in await error_of(session, "get_task_status",
                                                          task_id="nope")
        assert "no task with id 'nope'" in await error_of(session, "cancel_task",
                                                          task_id="nope")
        assert "prompt" in await error_of(session, "start_coding_task", prompt="")
        assert "priority" in await error_of(session, "start_coding_task", prompt=TASK,
                                            priority="URGENT")
        assert "status" in await error_of(session, "list_tasks", status="sleeping")
        assert "provider 'anthropic' is not available" in await error_of(
            session, "start_coding_task", prompt=TASK, provider="anthropic")


async def test_stdio_serves_the_same_tools(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    server = StdioServerParameters(
        command=sys.executable, cwd=str(tmp_path),
        args=["-m", "podium", "mcp", "--provider", "scripted", "--script", str(script),
              "--home", str(tmp_path / "home")])
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with stdio_client(server, errlog=errlog) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            assert {t.name for t in (await session.list_tools()).tools} == TOOLS
            task_id = (await call(session, "start_coding_task", prompt=TASK,
                                  tests=TESTS))["task_id"]
            assert (await until_finished(session, task_id))["status"] == "completed"
            events = await call(session, "get_task_events", task_id=task_id, limit=500)
            assert events["events"][-1]["type"] == "TASK_COMPLETE"
            assert "no task with id" in await error_of(session, "get_task_status",
                                                       task_id="missing")
