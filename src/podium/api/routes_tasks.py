"""REST: submit, list, inspect, time-travel and cancel tasks; read their workspace files.

Handlers are plain functions (FastAPI runs them in its thread pool): the services they call
read SQLite and talk to DBOS synchronously.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import TypeAdapter

from podium.api.context import require_scope, server
from podium.api.keys import READ, WRITE
from podium.api.schemas import (
    CancelRequest,
    CancelResult,
    EventPage,
    FileList,
    TaskAccepted,
    TaskList,
    TaskStatus,
    TaskSubmission,
    cancel_reason,
)
from podium.events import TaskState
from podium.services import DEFAULT_TENANT, Priority, parse_point
from podium.store import MAX_INTEGER

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])

TaskId = Annotated[str, Path(min_length=1, max_length=200, description="the task's id")]
_STATE_JSON = TypeAdapter(TaskState)
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such task (or one of another tenant)"}}


def _link_to(route: str, method: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to an operation on a task, which clients and schema-driven tools follow
    with values taken from the response (by default the task id it names)."""
    pointer = route.replace("~", "~0").replace("/", "~1")  # JSON Pointer escaping
    return {"operationRef": f"#/paths/{pointer}/{method}",
            "parameters": parameters or {"task_id": "$response.body#/task_id"}}


_TASK_LINKS = {
    "GetTask": _link_to("/v1/tasks/{task_id}", "get"),
    "GetEvents": _link_to("/v1/tasks/{task_id}/events", "get"),
    "GetState": _link_to("/v1/tasks/{task_id}/state", "get"),
    "ListFiles": _link_to("/v1/tasks/{task_id}/files", "get"),
    "CancelTask": _link_to("/v1/tasks/{task_id}/cancel", "post"),
}


@router.post("", status_code=201, response_model=TaskAccepted, responses={
    201: {"description": "queued", "links": _TASK_LINKS},
    422: {"description": "invalid input, each field named"},
    429: {"description": "the queue is full; see Retry-After"},
    503: {"description": "the server is shutting down"},
})
def submit_task(body: TaskSubmission, request: Request) -> TaskAccepted:
    """Queue a coding task. Higher priorities start first; equal ones in arrival order."""
    caller = require_scope(request, WRITE)
    ctx = server(request)
    if not ctx.accepting:
        raise HTTPException(503, "the server is shutting down and accepts no new tasks")
    priority = Priority.parse(body.priority)
    task_id = ctx.service.submit(
        body.prompt, tests=body.tests, task_id=body.task_id, max_rounds=body.max_rounds,
        priority=priority, tenant=caller.tenant or DEFAULT_TENANT, timeout_s=body.timeout_s,
        budget_usd=body.budget_usd, provider=body.provider, model=body.model)
    return TaskAccepted.of(task_id, ctx.service.state(task_id).status, priority)


@router.get("", response_model=TaskList)
def list_tasks(request: Request, status: TaskStatus | None = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               before: Annotated[int | None, Query(
                   ge=1, le=MAX_INTEGER, description="`next_before` of the previous page")]
               = None) -> TaskList:
    """The caller's tasks, newest first, optionally of one status."""
    caller = require_scope(request, READ)
    return TaskList.of(server(request).service.list_tasks(
        tenant=caller.tenant, status=status, limit=limit, before=before))


@router.get("/{task_id}", response_model=TaskState, responses=_NOT_FOUND)
async def get_task(task_id: TaskId, request: Request) -> Response:
    """The task's current state, projected from its event log."""
    # On the event loop: from the state cache this is one indexed query, and the hop to a
    # worker thread cost more than the read itself (docs/benchmarks.md).
    caller = require_scope(request, READ)
    return _state(server(request).service.state(task_id, tenant=caller.tenant))


@router.get("/{task_id}/events", response_model=EventPage, responses=_NOT_FOUND)
def get_events(task_id: TaskId, request: Request,
               after: Annotated[int, Query(ge=0, le=MAX_INTEGER,
                                           description="return events with a greater seq")] = 0,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> EventPage:
    """A page of the task's event log."""
    caller = require_scope(request, READ)
    events = server(request).service.events(task_id, after_seq=after, limit=limit + 1,
                                             tenant=caller.tenant)
    return EventPage.of(task_id, events, limit=limit, after=after)


@router.get("/{task_id}/state", response_model=TaskState, responses=_NOT_FOUND)
def get_state_at(task_id: TaskId, request: Request,
                 at: Annotated[str, Query(min_length=1, max_length=64,
                                          description="a seq number, or an ISO 8601 time "
                                                      "with a zone")]) -> Response:
    """Time travel: the task's state as it was at a point of its log."""
    caller = require_scope(request, READ)
    seq, moment = parse_point(at)
    return _state(server(request).service.state(task_id, seq=seq, at=moment,
                                                tenant=caller.tenant))


@router.post("/{task_id}/cancel", response_model=CancelResult, responses=_NOT_FOUND)
def cancel_task(task_id: TaskId, request: Request,
                body: Annotated[CancelRequest | None, Body()] = None) -> CancelResult:
    """Cancel the task. Idempotent: cancelling a finished task changes nothing and says so."""
    caller = require_scope(request, WRITE)
    reason = cancel_reason(caller, body.reason if body else None, interface="HTTP")
    return CancelResult.of(server(request).service.cancel(task_id, reason=reason,
                                                          tenant=caller.tenant))


@router.get("/{task_id}/files", response_model=FileList, responses=_NOT_FOUND | {
    200: {"description": "the file names", "links": {"ReadFirstFile": _link_to(
        "/v1/tasks/{task_id}/files/{path}", "get", task_id="$request.path.task_id",
        path="$response.body#/files/0")}}})
def list_files(task_id: TaskId, request: Request) -> FileList:
    """The files in the task's workspace."""
    caller = require_scope(request, READ)
    return FileList(task_id=task_id, files=server(request).service.files(task_id,
                                                                          tenant=caller.tenant))


def _state(state: TaskState) -> Response:
    # Serialized directly: FastAPI would validate the whole dataclass again on its way out,
    # which cost more than projecting it from the log.
    return Response(_STATE_JSON.dump_json(state), media_type="application/json")


@router.get("/{task_id}/files/{path:path}", response_class=PlainTextResponse,
            responses={404: {"description": "no such task or file"},
                       422: {"description": "a path outside the workspace, or not text"}})
def read_file(task_id: TaskId, path: str, request: Request) -> PlainTextResponse:
    """A file's text from the task's workspace."""
    caller = require_scope(request, READ)
    try:
        text = server(request).service.read_file(task_id, path, tenant=caller.tenant)
    except FileNotFoundError:
        raise HTTPException(404, f"no file {path!r} in task {task_id}'s workspace") from None
    return PlainTextResponse(text)
