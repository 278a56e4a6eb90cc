"""A connector for Ollama's native API over httpx (streamed NDJSON).

Chat-style requests go to ``/api/chat``; completion-style ones (a base model prompted by
completion) to ``/api/generate`` with ``raw`` set, returning the prefill and its continuation.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from podium.providers.base import Completion, CompletionRequest, Style
from podium.providers.chunks import Chunk
from podium.providers.connector import DEFAULT_MODELS_TTL_S, ConnectorBase
from podium.providers.embedded import render_prompt
from podium.providers.errors import ProviderError, kind_for_status
from podium.providers.wire import http_stream, ndjson_objects, timeout, transport_error

NAME = "ollama"
DEFAULT_BASE_URL = "http://127.0.0.1:11434"
# num_ctx is rounded up to a multiple of this, so that similar prompts share one loaded
# context instead of making Ollama reload the model for each size.
NUM_CTX_STEP = 1024
MIN_NUM_CTX = 2048


class OllamaProvider(ConnectorBase):
    """Ollama's ``/api/chat``, ``/api/generate``, ``/api/tags``, ``/api/show``, ``/api/embed``
    and the model management calls ``pull``, ``delete`` and ``copy``.

    Guarantees: every request sets ``options.num_ctx`` from the prompt's estimated size plus
    ``max_tokens`` (Ollama otherwise truncates silently to its default window), and a prompt
    larger than the model's window fails with a ``context_length`` error before anything is
    sent; every streamed line is checked for ``error``; a stream that ends without its
    ``done`` line is an error, never a short answer.
    """

    name = NAME

    def __init__(
        self,
        model: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        style: Style = "chat",
        timeout_s: float = 600.0,
        connect_s: float = 10.0,
        context_window: int | None = None,
        models_ttl_s: float = DEFAULT_MODELS_TTL_S,
    ) -> None:
        super().__init__(model, models_ttl_s=models_ttl_s)
        self.base_url = base_url.rstrip("/")
        self.style = style
        self.context_window = context_window
        self._windows: dict[str, int | None] = {}
        self._http = httpx.AsyncClient(base_url=self.base_url,
                                       timeout=timeout(timeout_s, connect_s))

    # --- completions ------------------------------------------------------------------------

    async def complete(self, request: CompletionRequest) -> Completion:
        """One non-streamed call; the answer with the counts Ollama reports."""
        started = time.perf_counter()
        path, body = await self._body(request, stream=False)
        reply = await self._post_json(path, body)
        return self.completion_from(self._chunks(reply, request, first=True), started)

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        path, body = await self._body(request, stream=True)
        first, done = True, False
        async with self._stream("POST", path, body) as response:
            async for line in ndjson_objects(response, self.name):
                for chunk in self._chunks(line, request, first=first):
                    first = first and chunk.kind != "text"
                    yield chunk
                if line.get("done"):
                    done = True
                    break
        if not done:
            raise ProviderError(self.name, f"stream from {self.base_url}{path} ended before its "
                                "done line", kind="protocol")

    def _chunks(self, line: dict[str, Any], request: CompletionRequest,
                *, first: bool) -> list[Chunk]:
        """The chunks one reply (or one streamed line) carries."""
        if "error" in line:
            raise ProviderError(self.name, f"error from {self.base_url}: {line['error']}",
                                kind="server")
        chunks: list[Chunk] = []
        message = line.get("message") or {}
        text = message.get("content", "") if "message" in line else line.get("response", "")
        if first and self.style == "completion" and request.prefill and (text or line.get("done")):
            text = request.prefill + text  # completion style returns prefill + continuation
        if text:
            chunks.append(Chunk.delta(text))
        for index, call in enumerate(message.get("tool_calls") or ()):
            function = call.get("function", {})
            chunks.append(Chunk.tool_call(index, call_id=call.get("id", ""),
                                          name=function.get("name", ""),
                                          arguments=json.dumps(function.get("arguments", {}))))
        if line.get("done"):
            chunks.append(Chunk.usage(line.get("prompt_eval_count"), line.get("eval_count")))
            chunks.append(Chunk.finish(line.get("done_reason") or "stop"))
        return chunks

    async def _body(self, request: CompletionRequest, *, stream: bool) -> tuple[str, dict]:
        prompt = render_prompt(request)
        options: dict[str, Any] = {
            "num_ctx": await self._num_ctx(self.estimate_tokens(prompt) + request.max_tokens),
            "num_predict": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.stop:
            options["stop"] = list(request.stop)
        if self.style == "completion":
            return "/api/generate", {"model": self.model, "prompt": prompt, "raw": True,
                                     "stream": stream, "options": options}
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages.append({"role": "user", "content": request.prompt})
        body: dict[str, Any] = {"model": self.model, "messages": messages, "stream": stream,
                                "options": options}
        if request.tools:
            body["tools"] = [{"type": "function", "function": t.model_dump()}
                             for t in request.tools]
        return "/api/chat", body

    async def _num_ctx(self, needed: int) -> int:
        window = await self.context_length()
        if window is not None and needed > window:
            raise ProviderError(self.name, f"prompt and answer need about {needed} tokens, more "
                                f"than the {window}-token window of {self.model!r}",
                                kind="context_length")
        size = max(MIN_NUM_CTX, -(-needed // NUM_CTX_STEP) * NUM_CTX_STEP)
        return min(size, window) if window is not None else size

    # --- models -----------------------------------------------------------------------------

    async def _fetch_models(self) -> list[str]:
        reply = await self._get_json("/api/tags")
        return [m["name"] for m in reply.get("models", [])]

    async def show(self, model: str | None = None) -> dict[str, Any]:
        """``/api/show``: the model's details, ``model_info`` and ``capabilities``."""
        return await self._post_json("/api/show", {"model": model or self.model})

    async def capabilities(self, model: str | None = None) -> list[str]:
        return list((await self.show(model)).get("capabilities", []))

    async def context_length(self, model: str | None = None) -> int | None:
        """The configured window, else ``<architecture>.context_length`` from ``/api/show``;
        looked up once per model."""
        model = model or self.model
        if self.context_window is not None and model == self.model:
            return self.context_window
        if model not in self._windows:
            info = (await self.show(model)).get("model_info", {})
            found = [v for k, v in info.items() if k.endswith(".context_length")]
            self._windows[model] = int(found[0]) if found else None
        return self._windows[model]

    async def embed(self, texts: list[str], model: str | None = None) -> list[list[float]]:
        reply = await self._post_json("/api/embed", {"model": model or self.model,
                                                     "input": texts})
        return reply["embeddings"]

    async def pull(self, model: str) -> AsyncIterator[dict[str, Any]]:
        """Download ``model``, yielding Ollama's progress lines (``status``, ``total``,
        ``completed``); the last one says ``success``."""
        async with self._stream("POST", "/api/pull", {"model": model, "stream": True}) as resp:
            async for line in ndjson_objects(resp, self.name):
                if "error" in line:
                    raise ProviderError(self.name, f"pull of {model!r} failed: {line['error']}",
                                        kind="server")
                yield line

    async def delete(self, model: str) -> None:
        await self._request("DELETE", "/api/delete", {"model": model})
        self._models = None

    async def copy(self, source: str, destination: str) -> None:
        await self._request("POST", "/api/copy", {"source": source, "destination": destination})
        self._models = None

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- HTTP -------------------------------------------------------------------------------

    async def _get_json(self, path: str) -> dict[str, Any]:
        return (await self._request("GET", path, None)).json()

    async def _post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._request("POST", path, body)
        try:
            return response.json()
        except ValueError:
            raise ProviderError(self.name, f"malformed JSON from {self.base_url}{path}: "
                                f"{response.text[:200]!r}", kind="protocol") from None

    async def _request(self, method: str, path: str, body: dict | None) -> httpx.Response:
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise transport_error(self.name, f"{self.base_url}{path}", exc) from exc
        if not response.is_success:
            raise self._status_error(response, response.text)
        return response

    def _stream(self, method: str, path: str,
                body: dict[str, Any]) -> AbstractAsyncContextManager[httpx.Response]:
        return http_stream(self._http, method, path, provider=self.name, json=body,
                           on_status=self._status_error)

    def _status_error(self, response: httpx.Response, text: str) -> ProviderError:
        try:
            detail = json.loads(text).get("error", text)
        except (ValueError, AttributeError):
            detail = text
        return ProviderError(self.name, f"HTTP {response.status_code} from {response.url}: "
                             f"{str(detail)[:300]}", kind=kind_for_status(response.status_code),
                             status=response.status_code)

