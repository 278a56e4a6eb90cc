"""A provider that replays recorded responses, for tests and demos."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from podium.providers.base import Completion, CompletionRequest, ProviderError

NAME = "scripted"
DEFAULT_KEY = "*"


class ScriptedProvider:
    """Answers each request with the next recorded response for its ``purpose``.

    Guarantees: each purpose's responses are returned in order, and the last one repeats
    once they are exhausted. A purpose without responses of its own uses the ``"*"``
    responses (with their own cursor); with neither, ``complete`` raises
    :class:`ProviderError` naming the purpose. Token counts are whitespace-split word
    counts of the prompt (system + prompt) and of the response.
    """

    name = NAME
    model = "scripted"

    def __init__(self, responses: Mapping[str, Sequence[str]]) -> None:
        self._responses: dict[str, tuple[str, ...]] = {}
        for purpose, texts in responses.items():
            # A bare string is a Sequence[str] too; treating it as characters is never meant.
            if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
                raise ValueError(f"responses for purpose {purpose!r} must be a list of strings")
            if texts:
                self._responses[purpose] = tuple(texts)
        self._next: dict[str, int] = {}

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedProvider:
        """Load ``{"plan": [...], "code": [...], "*": [...]}`` from a JSON file.

        Raises :class:`ProviderError` if the file is missing or unreadable, is not JSON, or
        is not an object mapping purposes to lists of strings.
        """
        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ProviderError(NAME, f"script file not found: {path}") from None
        except OSError as exc:
            raise ProviderError(NAME, f"cannot read script file {path}: {exc}") from exc
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ProviderError(NAME, f"script file {path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ProviderError(
                NAME,
                f"script file {path} must hold a JSON object mapping purposes to lists of "
                f"strings, got {type(data).__name__}",
            )
        for purpose, texts in data.items():
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise ProviderError(
                    NAME,
                    f"script file {path}: responses for purpose {purpose!r} must be a list of "
                    "strings",
                )
        return cls(data)

    async def complete(self, request: CompletionRequest) -> Completion:
        """Return the next scripted response for ``request.purpose``."""
        started = time.perf_counter()
        key = request.purpose if request.purpose in self._responses else DEFAULT_KEY
        texts = self._responses.get(key)
        if texts is None:
            known = ", ".join(sorted(self._responses)) or "none"
            raise ProviderError(
                NAME,
                f"no scripted response for purpose {request.purpose!r} and no {DEFAULT_KEY!r} "
                f"default (scripted purposes: {known})",
            )
        index = self._next.get(key, 0)
        self._next[key] = index + 1
        text = texts[min(index, len(texts) - 1)]
        return Completion(
            text=text,
            provider=NAME,
            model=self.model,
            tokens_in=len(request.system.split()) + len(request.prompt.split()),
            tokens_out=len(text.split()),
            latency_s=time.perf_counter() - started,
            finish_reason="stop",
        )
