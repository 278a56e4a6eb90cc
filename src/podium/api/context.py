"""What every route needs, held once per app, and the caller's identity."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException
from starlette.requests import HTTPConnection

from podium.api.hub import EventHub
from podium.api.keys import KeyStore, Principal
from podium.api.metrics import Metrics
from podium.api.provider_status import ProviderMonitor
from podium.config import Settings
from podium.services import TaskService


@dataclass
class ConnectionSlots:
    """Counts open WebSocket streams against the capacity."""

    capacity: int
    metrics: Metrics
    open: int = 0

    def try_take(self) -> bool:
        if self.open >= self.capacity:
            return False
        self.open += 1
        self.metrics.ws_connections.set(self.open)
        return True

    def give_back(self) -> None:
        self.open -= 1
        self.metrics.ws_connections.set(self.open)


@dataclass
class ServerContext:
    settings: Settings
    service: TaskService
    keys: KeyStore
    metrics: Metrics
    hub: EventHub
    providers: ProviderMonitor
    slots: ConnectionSlots
    accepting: bool = True  # False while shutting down: no new tasks, no new streams


def server(connection: HTTPConnection) -> ServerContext:
    return connection.app.state.podium  # type: ignore[no-any-return]


def principal(connection: HTTPConnection) -> Principal:
    """The caller, as the guard middleware identified it."""
    return connection.scope["state"]["principal"]  # type: ignore[no-any-return]


def require_scope(connection: HTTPConnection, scope: str) -> Principal:
    """The caller if it holds ``scope``; else 403 naming the scope."""
    caller = principal(connection)
    if not caller.allows(scope):
        raise HTTPException(403, f"this API key lacks the {scope!r} scope")
    return caller
