"""The server: one FastAPI app with REST, live streams, MCP at /mcp, probes and metrics.

Every route calls the application services the CLI uses; nothing here decides anything the
CLI could not. The app's lifespan runs the event hub and the MCP session manager, and on
shutdown stops accepting tasks, lets running work finish within the grace period, then stops
the engine (a task still running resumes at the next start).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from mcp.server.transport_security import TransportSecuritySettings

from podium import __version__
from podium.api import routes_ops, routes_tasks, streams
from podium.api.context import ConnectionSlots, ServerContext
from podium.api.guard import Guard
from podium.api.hub import EventHub
from podium.api.keys import LOOPBACK_HOSTS, KeyStore
from podium.api.mcp_tools import build_mcp, http_caller
from podium.api.metrics import InstrumentedEventStore, Metrics
from podium.api.provider_status import ProviderMonitor
from podium.config import Settings
from podium.providers import Provider
from podium.services import InvalidInput, QueueFull, TaskNotFound, TaskService
from podium.store import StorageError

# For uvicorn's ws_per_message_deflate: streams carry small JSON events to many clients, and
# compressing each message for each client doubled the fan-out latency (docs/benchmarks.md).
WS_DEFLATE = False
# Where each input a service may reject arrives; anything else is a body field.
_INPUT_LOCATION = {"at": "query", "status": "query", "path": "path", "Last-Event-ID": "header"}


def build_service(settings: Settings, provider: Provider | None = None) -> tuple[TaskService,
                                                                                  Metrics]:
    """The task service a server runs on, its store timed for the append-latency metric.
    Launches the durable engine; queued and interrupted tasks resume."""
    metrics = Metrics()
    store = InstrumentedEventStore(settings.database, max_event_bytes=settings.max_event_bytes,
                                   observe=metrics.append_latency.observe)
    service = TaskService(settings, provider, store=store)
    service.resume_interrupted()
    return service, metrics


def create_app(service: TaskService, metrics: Metrics, *, host: str = "127.0.0.1") -> FastAPI:
    """The app over ``service``. It closes the service when it shuts down. ``host`` is the
    address served: on loopback, MCP also refuses requests whose Host header is not local."""
    settings = service.settings
    mcp = build_mcp(service, http_caller)
    security = None if host in LOOPBACK_HOSTS else TransportSecuritySettings(
        enable_dns_rebinding_protection=False)  # API keys guard a public address
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", host=host,
                                      transport_security=security)
    ctx = ServerContext(
        settings=settings, service=service, keys=KeyStore(settings.database), metrics=metrics,
        hub=EventHub(service.store, on_event=metrics.observe_event),
        providers=ProviderMonitor(service.provider),
        slots=ConnectionSlots(settings.ws_max_connections, metrics))
    metrics.watch_service(service)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        hub = asyncio.create_task(ctx.hub.run())
        try:
            async with mcp.session_manager.run():
                yield
        finally:
            ctx.accepting = False
            hub.cancel()
            await asyncio.gather(hub, return_exceptions=True)
            await asyncio.to_thread(service.close, grace_s=settings.shutdown_grace_s)

    app = FastAPI(title="Podium", version=__version__, lifespan=lifespan,
                  description="Coding tasks: submit, follow live, inspect, cancel. MCP at /mcp.")
    app.state.podium = ctx
    for module in (routes_tasks, streams, routes_ops):
        app.include_router(module.router)
    _add_error_handlers(app)
    app.add_middleware(Guard, keys=ctx.keys, requests_per_minute=settings.requests_per_minute,
                       metrics=metrics)
    app.mount("/", mcp_app)  # last: it serves /mcp, and answers 404 for anything else
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TaskNotFound)
    async def not_found(_request: Request, exc: TaskNotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(InvalidInput)
    async def invalid(_request: Request, exc: InvalidInput) -> JSONResponse:
        where = _INPUT_LOCATION.get(exc.field, "body")
        return JSONResponse({"detail": [{"loc": [where, exc.field], "msg": str(exc),
                                         "type": "value_error"}]}, status_code=422)

    @app.exception_handler(QueueFull)
    async def queue_full(_request: Request, exc: QueueFull) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429,
                            headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(StorageError)
    async def storage(_request: Request, exc: StorageError) -> JSONResponse:
        return JSONResponse({"detail": f"storage unavailable: {exc}"}, status_code=503)
