"""A connector for Anthropic's Messages API through the official ``anthropic`` SDK."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anthropic

from podium.providers.base import Completion, CompletionRequest, ToolCall
from podium.providers.chunks import Chunk
from podium.providers.connector import DEFAULT_MODELS_TTL_S, ConnectorBase
from podium.providers.errors import ErrorKind, ProviderError, kind_for_status, retry_after_seconds

try:  # the SDK's own HTTP library; it wraps failures on sending, not while reading a stream
    from httpx2 import TransportError
except ImportError:  # SDK versions built on httpx
    from httpx import TransportError  # type: ignore[assignment]

NAME = "anthropic"
DEFAULT_BASE_URL = "https://api.anthropic.com"
_BODY_EXCERPT_CHARS = 300
# Anthropic's stop reasons in the words the other connectors use.
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
           "tool_use": "tool_calls"}


def _error_type(body: object) -> str:
    """``error.type`` of an Anthropic error body (``{"type": "error", "error": {...}}``)."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            return str(inner.get("type") or "")
    return ""


class AnthropicProvider(ConnectorBase):
    """Messages through the official ``anthropic`` SDK (``max_retries=0``).

    Guarantees: the stream's events are read in full (``message_start`` gives the input
    tokens, ``message_delta`` the cumulative output tokens and the stop reason,
    ``content_block_*`` the text and the tool calls' JSON fragments; ``ping`` is skipped); an
    ``error`` event inside the stream is raised with the kind its ``error.type`` names
    (``overloaded_error`` is retryable, ``invalid_request_error`` is not); 429 carries the
    server's Retry-After and 529 is ``overloaded``; a stream cut before ``message_stop`` is an
    error. ``request.prefill`` is ignored, and so is ``temperature``: the SDK no longer takes
    one (current models choose their own sampling).
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
        self.base_url = base_url or DEFAULT_BASE_URL
        self.context_window = context_window
        self._has_key = bool(api_key or os.environ.get("ANTHROPIC_API_KEY"))
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key or None, base_url=self.base_url, max_retries=0,
            timeout=anthropic.Timeout(timeout_s, connect=min(connect_s, timeout_s)))

    def _params(self, request: CompletionRequest) -> dict[str, Any]:
        if not self._has_key:
            raise self._error("no API key: set ANTHROPIC_API_KEY (or the provider's "
                              "api_key_env)", "auth")
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": "user", "content": request.prompt}],
        }
        if request.system:
            params["system"] = request.system
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        if request.tools:
            params["tools"] = [{"name": t.name, "description": t.description,
                                "input_schema": t.parameters} for t in request.tools]
        return params

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        try:
            message = await self._client.messages.create(**self._params(request))
        except (anthropic.AnthropicError, ValueError) as exc:
            raise self._failure(exc) from exc
        text = "".join(b.text for b in message.content if b.type == "text")
        calls = tuple(ToolCall(id=b.id, name=b.name, arguments=json.dumps(b.input))
                      for b in message.content if b.type == "tool_use")
        return Completion(
            text=text, provider=self.name, model=self.model,
            tokens_in=message.usage.input_tokens, tokens_out=message.usage.output_tokens,
            latency_s=time.perf_counter() - started, tool_calls=calls,
            finish_reason=_FINISH.get(message.stop_reason or "", message.stop_reason or "unknown"),
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        stopped = False
        try:
            response = await self._client.messages.create(**self._params(request), stream=True)
            async with response:
                async for event in response:
                    kind = event.type
                    if kind == "message_start":
                        usage = event.message.usage
                        yield Chunk.usage(usage.input_tokens, usage.output_tokens)
                    elif kind == "content_block_start":
                        block = event.content_block
                        if block.type == "tool_use":
                            yield Chunk.tool_call(event.index, call_id=block.id, name=block.name)
                        elif block.type == "text" and block.text:
                            yield Chunk.delta(block.text)
                    elif kind == "content_block_delta":
                        delta = event.delta
                        if delta.type == "text_delta":
                            yield Chunk.delta(delta.text)
                        elif delta.type == "input_json_delta":
                            yield Chunk.tool_call(event.index, arguments=delta.partial_json)
                    elif kind == "message_delta":
                        yield Chunk.usage(tokens_out=event.usage.output_tokens)
                        if event.delta.stop_reason:
                            reason = event.delta.stop_reason
                            yield Chunk.finish(_FINISH.get(reason, reason))
                    elif kind == "message_stop":
                        stopped = True
        except (anthropic.AnthropicError, TransportError, ValueError) as exc:
            raise self._failure(exc) from exc
        if not stopped:
            raise self._error(f"stream from {self.base_url} ended before message_stop",
                              "protocol")

    async def _fetch_models(self) -> list[str]:
        try:
            page = await self._client.models.list(limit=1000)
        except (anthropic.AnthropicError, ValueError) as exc:
            raise self._failure(exc) from exc
        return [m.id for m in page.data]

    async def context_length(self, model: str | None = None) -> int | None:
        """The configured window, else ``max_input_tokens`` from the Models API."""
        if self.context_window is not None and model in (None, self.model):
            return self.context_window
        try:
            info = await self._client.models.retrieve(model or self.model)
        except (anthropic.AnthropicError, ValueError) as exc:
            raise self._failure(exc) from exc
        return info.max_input_tokens

    async def aclose(self) -> None:
        await self._client.close()

    def _failure(self, exc: Exception) -> ProviderError:
        url = self.base_url
        if isinstance(exc, anthropic.APITimeoutError):
            return self._error(f"request to {url} timed out", "timeout")
        if isinstance(exc, TransportError):
            kind: ErrorKind = "timeout" if "Timeout" in type(exc).__name__ else "connection"
            return self._error(f"connection lost reading the stream from {url}: "
                               f"{type(exc).__name__}: {exc}", kind)
        if isinstance(exc, anthropic.APIConnectionError):
            cause = exc.__cause__ or exc
            return self._error(f"server unreachable or connection lost at {url}: {cause}",
                               "connection")
        if isinstance(exc, anthropic.APIStatusError):
            error_type = _error_type(exc.body)
            if exc.status_code < 300:  # an error event inside a 200 stream
                return self._error(f"error event inside the stream from {url}: {exc.body}",
                                   kind_for_status(500, error_type))
            return self._error(
                f"HTTP {exc.status_code} from {url}: {exc.response.text[:_BODY_EXCERPT_CHARS]}",
                kind_for_status(exc.status_code, error_type), status=exc.status_code,
                retry_after_s=retry_after_seconds(exc.response.headers))
        return self._error(f"malformed response from {url}: {exc}", "protocol")

    def _error(self, detail: str, kind: ErrorKind, *, status: int | None = None,
               retry_after_s: float | None = None) -> ProviderError:
        return ProviderError(self.name, f"{detail} (model {self.model!r})", kind=kind,
                             status=status, retry_after_s=retry_after_s)
