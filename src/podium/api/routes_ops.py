"""Operations: probes, metrics, the provider and queue views, WebSocket statistics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from podium.api.context import require_scope, server
from podium.api.keys import ADMIN, READ
from podium.api.metrics import CONTENT_TYPE
from podium.api.schemas import Check, Liveness, ProviderOut, QueueOut, Readiness, WsStats

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Liveness)
async def healthz() -> Liveness:
    """Liveness: the process answers."""
    return Liveness(status="ok")


@router.get("/readyz", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "not ready, with the reason"}})
async def readyz(request: Request) -> JSONResponse:
    """Readiness: 503 when the database cannot be read, when every provider's health check
    fails, or while shutting down."""
    ctx = server(request)
    try:
        await asyncio.to_thread(ctx.service.store.check_reachable)
        database = Check(ok=True, detail=str(ctx.service.store.path.name))
    except Exception as exc:  # any failure to read means not ready; say which
        database = Check(ok=False, detail=str(exc))
    providers = await _providers(request)
    reasons = []
    if not database.ok:
        reasons.append(database.detail)
    if providers and all(p.status == "down" for p in providers):
        reasons.append("every provider is down: " + "; ".join(
            f"{p.name}: {p.detail}" for p in providers))
    if not ctx.accepting:
        reasons.append("shutting down")
    body = Readiness(status="not ready" if reasons else "ready", reason="; ".join(reasons),
                     database=database, providers=providers)
    return JSONResponse(body.model_dump(), status_code=503 if reasons else 200)


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text"}})
def metrics(request: Request) -> Response:
    """Prometheus metrics (scope `admin` when keys are in use)."""
    require_scope(request, ADMIN)
    return Response(server(request).metrics.render(), media_type=CONTENT_TYPE)


@router.get("/v1/providers", response_model=list[ProviderOut])
async def providers(request: Request) -> list[ProviderOut]:
    """The model providers: health, models and breaker state; with a router, one entry per
    deployment."""
    require_scope(request, READ)
    return await _providers(request)


async def _providers(request: Request) -> list[ProviderOut]:
    reports = await server(request).providers.reports()
    return [ProviderOut(name=r.name, model=r.model, status=r.status, detail=r.detail,
                        models=r.models, breaker=r.breaker, deployment=r.deployment,
                        requests_today=r.requests_today) for r in reports]


@router.get("/v1/queue", response_model=QueueOut)
def queue(request: Request) -> QueueOut:
    """Waiting tasks by priority, running tasks, and the limits."""
    require_scope(request, READ)
    status = server(request).service.queue_status()
    return QueueOut(waiting=status.waiting, waiting_total=sum(status.waiting.values()),
                    running=status.running, concurrency=status.concurrency,
                    max_waiting=status.max_waiting)


@router.get("/v1/ws-stats", response_model=WsStats)
async def ws_stats(request: Request) -> WsStats:
    """Open WebSocket streams against the capacity."""
    require_scope(request, READ)
    slots = server(request).slots
    return WsStats(connections=slots.open, capacity=slots.capacity,
                   utilization=round(slots.open / slots.capacity, 4))
