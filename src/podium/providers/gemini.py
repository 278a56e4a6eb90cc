"""A connector for Google's Gemini API, native REST over httpx (``generateContent`` and
``streamGenerateContent`` with server-sent events)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from podium.providers.base import Completion, CompletionRequest
from podium.providers.chunks import Chunk
from podium.providers.connector import DEFAULT_MODELS_TTL_S, ConnectorBase
from podium.providers.errors import (
    ErrorKind,
    ProviderError,
    kind_for_status,
    retry_after_seconds,
)
from podium.providers.wire import (
    http_stream,
    json_data,
    server_sent_events,
    timeout,
    transport_error,
)

NAME = "gemini"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
_FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def classify(status: int, body: Mapping[str, Any],
             headers: Mapping[str, str] | None) -> tuple[ErrorKind, float | None]:
    """The error kind and wait of a Gemini error body (``{"error": {code, status, message,
    details}}``).

    RESOURCE_EXHAUSTED is a rate limit worth waiting for, unless a QuotaFailure says the quota
    is zero (``quotaValue`` "0": the model is not in the key's plan) or per day: those are
    ``quota`` and never retried. The wait comes from RetryInfo's ``retryDelay`` or the
    Retry-After header.
    """
    error = body.get("error", {}) if isinstance(body, Mapping) else {}
    details = error.get("details") or []
    kind: ErrorKind = kind_for_status(status, str(error.get("status", "")))
    wait = retry_after_seconds(headers)
    for detail in details:
        if not isinstance(detail, Mapping):
            continue
        if detail.get("@type") == _QUOTA_FAILURE:
            for violation in detail.get("violations") or []:
                if str(violation.get("quotaValue")) == "0" or \
                        "perday" in str(violation.get("quotaId", "")).lower():
                    kind = "quota"
        elif detail.get("@type") == _RETRY_INFO:
            delay = re.fullmatch(r"([\d.]+)s", str(detail.get("retryDelay", "")))
            if delay:
                wait = float(delay.group(1))
    if re.search(r"\blimit: 0\b", str(error.get("message", ""))):
        kind = "quota"
    return kind, wait


class GeminiProvider(ConnectorBase):
    """``generateContent``, ``streamGenerateContent?alt=sse``, model list and details
    (``inputTokenLimit``) and ``batchEmbedContents``, with the key in ``x-goog-api-key``.

    Guarantees: an error object inside the stream is raised, not swallowed; a stream that
    ends without a ``finishReason`` is an error; RESOURCE_EXHAUSTED is classified by
    :func:`classify`. ``request.prefill`` is ignored.
    """

    name = NAME

    def __init__(
        self,
        model: str,
        api_key: str | None,
        base_url: str | None = None,
        *,
        timeout_s: float = 600.0,
        connect_s: float = 10.0,
        context_window: int | None = None,
        models_ttl_s: float = DEFAULT_MODELS_TTL_S,
    ) -> None:
        super().__init__(model, models_ttl_s=models_ttl_s)
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.context_window = context_window
        headers = {"x-goog-api-key": api_key} if api_key else {}
        self._http = httpx.AsyncClient(base_url=f"{self.base_url}/{API_VERSION}/",
                                       headers=headers, timeout=timeout(timeout_s, connect_s))

    def _body(self, request: CompletionRequest) -> dict[str, Any]:
        config: dict[str, Any] = {"maxOutputTokens": request.max_tokens,
                                  "temperature": request.temperature}
        if request.stop:
            config["stopSequences"] = list(request.stop)
        body: dict[str, Any] = {
            "contents": [{"role": "user", "parts": [{"text": request.prompt}]}],
            "generationConfig": config,
        }
        if request.system:
            body["systemInstruction"] = {"parts": [{"text": request.system}]}
        if request.tools:
            body["tools"] = [{"functionDeclarations": [
                {"name": t.name, "description": t.description, "parameters": t.parameters}
                for t in request.tools]}]
        return body

    def _chunks(self, reply: Mapping[str, Any], calls_seen: int) -> list[Chunk]:
        if "error" in reply:
            raise self._status_error(500, reply, None, "error inside the stream from "
                                     f"{self.base_url}: {json.dumps(reply['error'])[:300]}")
        chunks: list[Chunk] = []
        for candidate in reply.get("candidates", [])[:1]:
            for part in candidate.get("content", {}).get("parts", []):
                if part.get("text"):
                    chunks.append(Chunk.delta(part["text"]))
                elif "functionCall" in part:
                    call = part["functionCall"]
                    chunks.append(Chunk.tool_call(
                        calls_seen, call_id=call.get("id", ""), name=call.get("name", ""),
                        arguments=json.dumps(call.get("args", {}))))
                    calls_seen += 1
            if candidate.get("finishReason"):
                reason = candidate["finishReason"]
                chunks.append(Chunk.finish(_FINISH.get(reason, reason.lower())))
        usage = reply.get("usageMetadata")
        if usage:
            chunks.append(Chunk.usage(usage.get("promptTokenCount"),
                                      usage.get("candidatesTokenCount")))
        return chunks

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        reply = await self._request("POST", f"models/{self.model}:generateContent",
                                    self._body(request))
        return self.completion_from(self._chunks(reply, 0), started)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        finished, calls = False, 0
        async with http_stream(self._http, "POST", f"models/{self.model}:streamGenerateContent",
                               params={"alt": "sse"}, json=self._body(request),
                               provider=self.name, on_status=self._response_error) as response:
            async for event in server_sent_events(response):
                for chunk in self._chunks(json_data(event, self.name), calls):
                    calls += chunk.kind == "tool_call"
                    finished = finished or chunk.kind == "finish"
                    yield chunk
        if not finished:
            raise ProviderError(self.name, f"stream from {self.base_url} ended before a "
                                f"finishReason (model {self.model!r})", kind="protocol")

    async def _fetch_models(self) -> list[str]:
        reply = await self._request("GET", "models", None, params={"pageSize": 1000})
        return [m["name"].removeprefix("models/") for m in reply.get("models", [])]

    async def context_length(self, model: str | None = None) -> int | None:
        """The configured window, else the model's ``inputTokenLimit``."""
        if self.context_window is not None and model in (None, self.model):
            return self.context_window
        reply = await self._request("GET", f"models/{model or self.model}", None)
        limit = reply.get("inputTokenLimit")
        return int(limit) if limit is not None else None

    async def embed(self, texts: list[str], model: str | None = None) -> list[list[float]]:
        name = model or self.model
        reply = await self._request("POST", f"models/{name}:batchEmbedContents", {
            "requests": [{"model": f"models/{name}", "content": {"parts": [{"text": t}]}}
                         for t in texts]})
        return [e["values"] for e in reply["embeddings"]]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, body: dict | None,
                       **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, json=body, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(self.name, f"{self.base_url}/{API_VERSION}/{path}",
                                  exc) from exc
        if not response.is_success:
            raise self._response_error(response, response.text)
        try:
            return response.json()
        except ValueError:
            raise ProviderError(self.name, f"malformed JSON from {response.url}: "
                                f"{response.text[:200]!r}", kind="protocol") from None

    def _response_error(self, response: httpx.Response, text: str) -> ProviderError:
        try:
            body = json.loads(text)
        except ValueError:
            body = {}
        return self._status_error(response.status_code, body, response.headers,
                                  f"HTTP {response.status_code} from {response.url}: {text[:300]}")

    def _status_error(self, status: int, body: Mapping[str, Any],
                      headers: Mapping[str, str] | None, detail: str) -> ProviderError:
        kind, wait = classify(status, body, headers)
        return ProviderError(self.name, f"{detail} (model {self.model!r})", kind=kind,
                             status=status, retry_after_s=wait)
