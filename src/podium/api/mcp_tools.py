"""The MCP server: Podium's tasks as tools for agents' clients, over the same services.

The same tools are served over stdio (`podium mcp`) and over streamable HTTP at ``/mcp`` in the
REST app. Over HTTP the caller is the API key the request carried (its tenant and scopes);
over stdio it is the local user. Failures come back as tool errors whose text says what was
wrong (unknown task, bad field, full queue).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from podium import __version__
from podium.api.keys import LOCAL, READ, WRITE, Principal
from podium.api.schemas import (
    CancelResult,
    EventPage,
    PriorityInput,
    TaskAccepted,
    TaskList,
    TaskStatus,
    cancel_reason,
)
from podium.services import (
    DEFAULT_TENANT,
    InvalidInput,
    Priority,
    QueueFull,
    TaskNotFound,
    TaskService,
)
from podium.services.tasks import MAX_PROMPT_CHARS
from podium.store import MAX_INTEGER

T = TypeVar("T")
Identify = Callable[[Context], Principal]


def http_caller(ctx: Context) -> Principal:
    """The API key of the HTTP request behind a tool call (see guard.py)."""
    request: Any = ctx.request_context.request
    return request.scope["state"]["principal"]  # type: ignore[no-any-return]


def build_mcp(service: TaskService, identify: Identify = lambda _ctx: LOCAL) -> MCPServer:
    """The MCP server over ``service``; ``identify`` names the caller of each tool call (the
    local user by default, as over stdio)."""
    # log_level: the SDK configures the root logger; INFO would log every HTTP request.
    mcp = MCPServer("podium", version=__version__, log_level="WARNING", instructions=(
        "Podium runs coding tasks: it plans, has models write code, tests it in a sandbox and "
        "corrects it. Start a task, then poll its status or read its events."))

    async def call(ctx: Context, scope: str, work: Callable[[Principal], T]) -> T:
        caller = identify(ctx)
        if not caller.allows(scope):
            raise ToolError(f"this API key lacks the {scope!r} scope")
        try:
            return await asyncio.to_thread(work, caller)
        except InvalidInput as exc:
            raise ToolError(f"invalid {exc.field}: {exc}") from None
        except (TaskNotFound, QueueFull) as exc:
            raise ToolError(str(exc)) from None

    @mcp.tool()
    async def start_coding_task(
        ctx: Context,
        prompt: Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS,
                                     description="what to build, in plain words")],
        tests: Annotated[str | None, Field(description="a pytest file the code must pass")]
        = None,
        priority: Annotated[PriorityInput, Field(description="a lower value starts first")]
        = "MEDIUM",
        max_rounds: Annotated[int | None, Field(ge=1, le=20)] = None,
        timeout_s: Annotated[float | None, Field(gt=0, le=7 * 24 * 3600)] = None,
        budget_usd: Annotated[float | None, Field(gt=0, description="spending limit")] = None,
        provider: Annotated[str | None, Field(min_length=1, description="send the task's "
                                              "model calls to this provider")] = None,
        model: Annotated[str | None, Field(min_length=1, description="... and this model")]
        = None,
    ) -> TaskAccepted:
        """Queue a coding task; returns its id. Poll get_task_status until it ends."""
        rank = Priority.parse(priority)

        def submit(caller: Principal) -> TaskAccepted:
            task_id = service.submit(prompt, tests=tests, priority=rank, max_rounds=max_rounds,
                                     timeout_s=timeout_s, budget_usd=budget_usd,
                                     provider=provider, model=model,
                                     tenant=caller.tenant or DEFAULT_TENANT)
            return TaskAccepted.of(task_id, service.state(task_id).status, rank)

        return await call(ctx, WRITE, submit)

    @mcp.tool()
    async def get_task_status(ctx: Context, task_id: Annotated[str, Field(min_length=1)],
                              ) -> dict[str, Any]:
        """The task's state: status, reason, plan, modules with code and test results, files,
        model usage."""
        return await call(ctx, READ, lambda caller: service.state(
            task_id, tenant=caller.tenant).to_dict())

    @mcp.tool()
    async def get_task_events(
        ctx: Context, task_id: Annotated[str, Field(min_length=1)],
        after: Annotated[int, Field(ge=0, le=MAX_INTEGER, description="events with a greater seq")]
        = 0,
        limit: Annotated[int, Field(ge=1, le=500)] = 100,
    ) -> EventPage:
        """A page of the task's event log, in seq order."""
        def page(caller: Principal) -> EventPage:
            events = service.events(task_id, after_seq=after, limit=limit + 1,
                                    tenant=caller.tenant)
            return EventPage.of(task_id, events, limit=limit, after=after)

        return await call(ctx, READ, page)

    @mcp.tool()
    async def list_tasks(
        ctx: Context, status: TaskStatus | None = None,
        limit: Annotated[int, Field(ge=1, le=200)] = 20,
        before: Annotated[int | None, Field(ge=1, description="next_before of the previous "
                                            "page")] = None,
    ) -> TaskList:
        """Tasks newest first, optionally of one status."""
        def listing(caller: Principal) -> TaskList:
            return TaskList.of(service.list_tasks(tenant=caller.tenant, status=status,
                                                  limit=limit, before=before))

        return await call(ctx, READ, listing)

    @mcp.tool()
    async def cancel_task(ctx: Context, task_id: Annotated[str, Field(min_length=1)],
                          reason: Annotated[str | None, Field(max_length=500)] = None,
                          ) -> CancelResult:
        """Cancel a task. Cancelling a finished task changes nothing and says so."""
        def cancel(caller: Principal) -> CancelResult:
            return CancelResult.of(service.cancel(
                task_id, tenant=caller.tenant,
                reason=cancel_reason(caller, reason, interface="MCP")))

        return await call(ctx, WRITE, cancel)

    return mcp
