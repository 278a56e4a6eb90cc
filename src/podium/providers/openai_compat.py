"""A provider for any OpenAI-compatible chat-completions server (OpenAI, llama.cpp, vLLM...)."""

from __future__ import annotations

import time

import openai
from openai.types.chat import ChatCompletionMessageParam

from podium.providers.base import Completion, CompletionRequest, ProviderError

NAME = "openai"
# Local servers ignore the key, but the SDK refuses to build a client without one.
PLACEHOLDER_API_KEY = "not-needed"
_BODY_EXCERPT_CHARS = 300


class OpenAICompatProvider:
    """Chat completions through the official ``openai`` SDK.

    Guarantees: exactly one HTTP request per call (the client has ``max_retries=0``), bounded
    by ``timeout_s`` (connecting by at most 10 s of it); every failure surfaces as
    :class:`ProviderError` naming the base URL, and for HTTP errors the status and an excerpt
    of the body. ``request.prefill`` is ignored: the answer is returned as the server gave it.
    """

    name = NAME

    def __init__(
        self, base_url: str, api_key: str | None, model: str, timeout_s: float = 120
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.base_url = base_url
        self.model = model
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or PLACEHOLDER_API_KEY,
            max_retries=0,
            # openai.Timeout is the SDK's own httpx Timeout class.
            timeout=openai.Timeout(timeout_s, connect=min(10.0, timeout_s)),
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        """Send ``[system, user]`` messages and return the first choice."""
        messages: list[ChatCompletionMessageParam] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        started = time.perf_counter()
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                stop=list(request.stop) or None,
            )
        except openai.APITimeoutError as exc:
            raise self._error(f"request to {self.base_url} timed out") from exc
        except openai.APIConnectionError as exc:
            raise self._error(f"server unreachable at {self.base_url}: {exc}") from exc
        except openai.APIStatusError as exc:
            body = exc.response.text[:_BODY_EXCERPT_CHARS]
            raise self._error(f"HTTP {exc.status_code} from {self.base_url}: {body}") from exc
        except openai.OpenAIError as exc:
            raise self._error(f"bad response from {self.base_url}: {exc}") from exc
        latency = time.perf_counter() - started
        if not response.choices:
            raise self._error(f"response from {self.base_url} has no choices")
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=choice.message.content or "",
            provider=NAME,
            model=self.model,
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            latency_s=latency,
            finish_reason=choice.finish_reason or "unknown",
        )

    async def aclose(self) -> None:
        """Close the underlying HTTP connection pool."""
        await self._client.close()

    def _error(self, detail: str) -> ProviderError:
        return ProviderError(NAME, f"{detail} (model {self.model!r})")
