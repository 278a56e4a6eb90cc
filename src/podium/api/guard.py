"""The middleware every request passes: who is calling, per-key rate limits, the access log.

- A key comes as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. A wrong or revoked
  key is refused (401). Without a key: refused when any key exists, else the caller is local
  (the server then listens on loopback only, unless told otherwise).
- Each key may make ``requests_per_minute`` requests (a leaky bucket, bursts up to that many);
  beyond it 429 with Retry-After.
- One log line per request: method, path without its query string, status, duration, key id
  and task id. No header, query string or body is ever logged, so no secret is.

WebSocket handshakes are identified here too, but answered by the stream itself, which can
then close with a code and a reason the client sees.
"""

from __future__ import annotations

import json
import math
import re
import time

import structlog
from aiolimiter import AsyncLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.api.keys import LOCAL, KeyStore, Principal
from podium.api.metrics import Metrics

log = structlog.get_logger("podium.api")

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc",
                          "/openapi.json"})
_TASK_IN_PATH = re.compile(r"^/v1/tasks/([^/]+)")
KEYS_CHECK_TTL_S = 1.0  # how soon the server notices the first key created (or the last revoked)


class Guard:
    def __init__(self, app: ASGIApp, *, keys: KeyStore, requests_per_minute: int,
                 metrics: Metrics) -> None:
        self.app, self.keys, self.metrics = app, keys, metrics
        self.per_minute = requests_per_minute
        self._limiters: dict[str, AsyncLimiter] = {}
        self._keys_active = (False, 0.0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        caller, problem = self._identify(scope)
        state = scope.setdefault("state", {})
        state["principal"], state["auth_problem"] = caller, problem
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        await self._http(scope, receive, send, caller, problem)

    async def _http(self, scope: Scope, receive: Receive, send: Send, caller: Principal | None,
                    problem: str | None) -> None:
        started = time.perf_counter()
        status = 500
        path: str = scope["path"]

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        task = _TASK_IN_PATH.match(path)
        # Every line logged while this request is served names its task.
        with structlog.contextvars.bound_contextvars(**({"task_id": task[1]} if task else {})):
            try:
                await self._answer(scope, receive, send_noting_status, caller, problem)
            finally:
                elapsed = time.perf_counter() - started
                route = getattr(scope.get("route"), "path", "unmatched")
                self.metrics.http_requests.labels(scope["method"], route, str(status)).inc()
                self.metrics.http_latency.labels(scope["method"], route).observe(elapsed)
                log.info("request", method=scope["method"], path=path, status=status,
                         ms=round(elapsed * 1000, 2), key_id=caller.key_id if caller else None)

    async def _answer(self, scope: Scope, receive: Receive, send: Send,
                      caller: Principal | None, problem: str | None) -> None:
        if problem is not None and scope["path"] not in PUBLIC_PATHS:
            await _reply(send, 401, problem, {"www-authenticate": 'Bearer realm="podium"'})
        elif caller is not None and (wait := await self._throttle(caller)) is not None:
            await _reply(send, 429, f"rate limit of {self.per_minute} requests a minute reached "
                                    f"for this API key; retry in {wait} s",
                         {"retry-after": str(wait)})
        else:
            await self.app(scope, receive, send)

    def _identify(self, scope: Scope) -> tuple[Principal | None, str | None]:
        headers = dict(scope["headers"])
        presented = headers.get(b"x-api-key", b"").decode("latin-1").strip()
        authorization = headers.get(b"authorization", b"").decode("latin-1").strip()
        if authorization[:7].lower() == "bearer ":
            presented = authorization[7:].strip()
        if presented:
            caller = self.keys.verify(presented)
            return (caller, None) if caller else (None, "invalid or revoked API key")
        if self._any_key_active():
            return None, "an API key is required: send 'Authorization: Bearer <key>'"
        return LOCAL, None

    def _any_key_active(self) -> bool:
        active, checked = self._keys_active
        if time.monotonic() - checked > KEYS_CHECK_TTL_S:
            active = self.keys.any_active()
            self._keys_active = (active, time.monotonic())
        return active

    async def _throttle(self, caller: Principal) -> int | None:
        """None when the request may go on, else the seconds to wait."""
        if caller.key_id is None:
            return None
        limiter = self._limiters.get(caller.key_id)
        if limiter is None:
            limiter = self._limiters[caller.key_id] = AsyncLimiter(self.per_minute, 60)
        if not limiter.has_capacity():
            # The bucket is full by less than one request, which drips out in 60/rate s.
            return max(1, math.ceil(60 / self.per_minute))
        await limiter.acquire()  # returns at once: there is capacity
        return None


async def _reply(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json"),
                                      (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
