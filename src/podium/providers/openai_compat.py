"""A connector for OpenAI and every OpenAI-compatible chat-completions server (xAI Grok, vLLM,
llama.cpp server, LM Studio, MLX, Gemini's compatible endpoint...), through the official SDK."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam

from podium.providers.base import Completion, CompletionRequest, ToolCall
from podium.providers.chunks import Chunk
from podium.providers.connector import DEFAULT_MODELS_TTL_S, ConnectorBase
from podium.providers.errors import ErrorKind, ProviderError, kind_for_status, retry_after_seconds

NAME = "openai"
# Local servers ignore the key, but the SDK refuses to build a client without one.
PLACEHOLDER_API_KEY = "not-needed"
_BODY_EXCERPT_CHARS = 300
# Fields some servers add to /v1/models entries to give the context window (vLLM, LM Studio,
# OpenRouter and others).
_CONTEXT_FIELDS = ("context_length", "max_model_len", "max_context_length", "context_window")


def error_code(body: object) -> str:
    """The ``code`` or ``type`` of an OpenAI-style error body (``{"error": {...}}`` or the inner
    object), or ""."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            return str(inner.get("code") or inner.get("type") or "")
    return ""


class OpenAICompatProvider(ConnectorBase):
    """Chat completions through the official ``openai`` SDK.

    Guarantees: exactly one HTTP request per call (the client has ``max_retries=0``), bounded
    by ``timeout_s`` (connecting by at most ``connect_s`` of it); every failure surfaces as
    :class:`ProviderError` naming the base URL, with its kind, and for HTTP errors the status,
    an excerpt of the body and any Retry-After. Streams ask for usage in the final chunk
    (``stream_options.include_usage``), join tool-call fragments per index, and raise an
    ``{"error": ...}`` object sent inside an HTTP 200 stream instead of swallowing it.
    ``request.prefill`` is ignored: the answer is returned as the server gave it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model: str,
        timeout_s: float = 120,
        *,
        name: str = NAME,
        connect_s: float = 10.0,
        max_tokens_param: str = "max_tokens",
        context_window: int | None = None,
        models_ttl_s: float = DEFAULT_MODELS_TTL_S,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        super().__init__(model, models_ttl_s=models_ttl_s)
        self.name = name
        self.base_url = base_url
        self.max_tokens_param = max_tokens_param
        self.context_window = context_window
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or PLACEHOLDER_API_KEY,
            max_retries=0,
            # openai.Timeout is the SDK's own httpx Timeout class.
            timeout=openai.Timeout(timeout_s, connect=min(connect_s, timeout_s)),
        )

    def _params(self, request: CompletionRequest) -> dict[str, Any]:
        messages: list[ChatCompletionMessageParam] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        params: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            self.max_tokens_param: request.max_tokens,
            "temperature": request.temperature,
        }
        if request.stop:
            params["stop"] = list(request.stop)
        if request.tools:
            params["tools"] = [{"type": "function", "function": t.model_dump()}
                               for t in request.tools]
        return params

    async def complete(self, request: CompletionRequest) -> Completion:
        """Send ``[system, user]`` messages and return the first choice."""
        started = time.perf_counter()
        try:
            response = await self._client.chat.completions.create(**self._params(request))
        except (openai.OpenAIError, ValueError) as exc:
            raise self._failure(exc) from exc
        latency = time.perf_counter() - started
        if not response.choices:
            raise self._error(f"response from {self.base_url} has no choices", "protocol")
        choice = response.choices[0]
        usage = response.usage
        calls = tuple(
            ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments)
            for c in choice.message.tool_calls or () if c.type == "function"
        )
        return Completion(
            text=choice.message.content or "",
            provider=self.name,
            model=self.model,
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            usage_estimated=usage is None,
            latency_s=latency,
            finish_reason=choice.finish_reason or "unknown",
            tool_calls=calls,
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        """Stream the answer over server-sent events up to ``[DONE]``."""
        finished = False
        try:
            response = await self._client.chat.completions.create(
                **self._params(request), stream=True, stream_options={"include_usage": True}
            )
            async with response:
                async for event in response:
                    # The usage chunk has empty (or, from some servers, null) choices.
                    for choice in event.choices or ():
                        delta = choice.delta
                        if delta is not None:
                            if delta.content:
                                yield Chunk.delta(delta.content)
                            for call in delta.tool_calls or ():
                                function = call.function
                                yield Chunk.tool_call(
                                    call.index, call_id=call.id or "",
                                    name=(function.name or "") if function else "",
                                    arguments=(function.arguments or "") if function else "")
                        if choice.finish_reason:
                            finished = True
                            yield Chunk.finish(choice.finish_reason)
                    if event.usage is not None:
                        yield Chunk.usage(event.usage.prompt_tokens,
                                          event.usage.completion_tokens)
        except (openai.OpenAIError, ValueError) as exc:
            raise self._failure(exc) from exc
        if not finished:
            raise self._error(f"stream from {self.base_url} ended before a finish_reason",
                              "protocol")

    async def _fetch_models(self) -> list[str]:
        return [entry["id"] for entry in await self._model_entries()]

    async def _model_entries(self) -> list[dict[str, Any]]:
        try:
            page = await self._client.models.list()
        except (openai.OpenAIError, ValueError) as exc:
            raise self._failure(exc) from exc
        return [entry.model_dump() for entry in page.data]

    async def context_length(self, model: str | None = None) -> int | None:
        """The configured window, else one a server states in its model list, else None."""
        if self.context_window is not None and model in (None, self.model):
            return self.context_window
        wanted = model or self.model
        for entry in await self._model_entries():
            if entry.get("id") == wanted:
                for field in _CONTEXT_FIELDS:
                    if isinstance(entry.get(field), int):
                        return int(entry[field])
        return None

    async def embed(self, texts: list[str], model: str | None = None) -> list[list[float]]:
        try:
            response = await self._client.embeddings.create(model=model or self.model,
                                                            input=texts)
        except (openai.OpenAIError, ValueError) as exc:
            raise self._failure(exc) from exc
        return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]

    async def aclose(self) -> None:
        """Close the underlying HTTP connection pool."""
        await self._client.close()

    def _failure(self, exc: Exception) -> ProviderError:
        url = self.base_url
        if isinstance(exc, openai.APITimeoutError):
            return self._error(f"request to {url} timed out", "timeout")
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return self._error(f"server unreachable or connection lost at {url}: {cause}",
                               "connection")
        if isinstance(exc, openai.APIStatusError):
            body = exc.response.text[:_BODY_EXCERPT_CHARS]
            return self._error(
                f"HTTP {exc.status_code} from {url}: {body}",
                kind_for_status(exc.status_code, error_code(exc.body)),
                status=exc.status_code, retry_after_s=retry_after_seconds(exc.response.headers))
        if isinstance(exc, openai.APIError):  # an error object inside an HTTP 200 stream
            return self._error(f"error inside the stream from {url}: {exc.message}",
                               kind_for_status(500, error_code(exc.body)))
        return self._error(f"malformed response from {url}: {exc}", "protocol")

    def _error(self, detail: str, kind: ErrorKind = "failed", *, status: int | None = None,
               retry_after_s: float | None = None) -> ProviderError:
        return ProviderError(self.name, f"{detail} (model {self.model!r})", kind=kind,
                             status=status, retry_after_s=retry_after_s)
