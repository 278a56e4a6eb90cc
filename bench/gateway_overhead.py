"""Gateway overhead: the router's added latency against the raw ``openai`` SDK, same run.

    python bench/gateway_overhead.py              # 2,000 calls of each kind
    python bench/gateway_overhead.py --calls 500  # quicker

A tiny OpenAI-compatible server (Starlette under uvicorn, in a subprocess on 127.0.0.1) answers
every chat completion instantly with a fixed answer: JSON, or 8 server-sent events plus the
usage chunk and ``[DONE]``. So what is measured is client-side work, not a model.

Three clients call it, taking turns call by call (each first in turn), so they see the
same machine:

- raw SDK: ``AsyncOpenAI(max_retries=0).chat.completions.create`` (the baseline);
- router, same loop: a one-deployment Router adopted onto the caller's loop (a server's case);
- router, other loop: a router that was never adopted, so each call is handed to the
  router's own thread and back (the workflow's case: DBOS steps run in worker threads).

A last section times the router alone, in process, with a connector that answers at once
(no network), to show what the router's own work costs.

"plain" sends ``stream=False`` (the router's deployment has ``stream = false``); "streaming"
reads every chunk (the router also enforces first-token and idle timeouts on each). Each
figure is the wall time of one whole call; p50 and p99 over all calls after a warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import socket
import statistics
import subprocess
import sys
import time

import httpx
import openai

from podium.providers import Chunk, Completion, CompletionRequest, OpenAICompatProvider, Router
from podium.providers.connector import ConnectorBase
from podium.providers.deployment import Deployment

PIECES = ["def ", "add", "(a, ", "b):", "\n    ", "return ", "a + ", "b\n"]
MODEL = "bench-model"


def serve(port: int) -> None:
    """The instant OpenAI-compatible server (runs in the subprocess)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    def chunk(delta: dict | None, finish: str | None = None, usage: dict | None = None) -> bytes:
        body: dict = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
                      "choices": [] if delta is None else
                      [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage:
            body["usage"] = usage
        return f"data: {json.dumps(body)}\n\n".encode()

    usage = {"prompt_tokens": 5, "completion_tokens": len(PIECES), "total_tokens": 13}
    events = b"".join([chunk({"role": "assistant", "content": ""})]
                      + [chunk({"content": p}) for p in PIECES]
                      + [chunk({}, "stop"), chunk(None, usage=usage), b"data: [DONE]\n\n"])
    answer = {"id": "c", "object": "chat.completion", "created": 1, "model": MODEL,
              "choices": [{"index": 0, "message": {"role": "assistant",
                                                   "content": "".join(PIECES)},
                           "finish_reason": "stop"}], "usage": usage}

    async def chat(request):  # type: ignore[no-untyped-def]
        body = await request.json()
        if body.get("stream"):
            return StreamingResponse(iter([events]), media_type="text/event-stream")
        return JSONResponse(answer)

    async def models(request):  # type: ignore[no-untyped-def]
        return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model",
                                                        "created": 0, "owned_by": "x"}]})

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                            Route("/v1/models", models)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/models", timeout=1)
            return process, url
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit("the bench server did not start") from None
            time.sleep(0.1)


def make_router(url: str, stream: bool) -> Router:
    connector = OpenAICompatProvider(url, "k", MODEL, timeout_s=30)
    return Router([Deployment("bench", connector, stream=stream, context_window=8192)])


async def measure(url: str, calls: int, warmup: int) -> dict[str, dict[str, list[float]]]:
    raw = openai.AsyncOpenAI(base_url=url, api_key="k", max_retries=0, timeout=30)
    request = CompletionRequest(prompt="write add", max_tokens=64)
    messages = [{"role": "user", "content": request.prompt}]
    plain_here, stream_here = make_router(url, False), make_router(url, True)
    plain_here.adopt_loop()
    stream_here.adopt_loop()
    plain_there, stream_there = make_router(url, False), make_router(url, True)

    async def raw_plain() -> None:
        await raw.chat.completions.create(model=MODEL, messages=messages, max_tokens=64,
                                          temperature=0)

    async def raw_stream() -> None:
        response = await raw.chat.completions.create(
            model=MODEL, messages=messages, max_tokens=64, temperature=0, stream=True,
            stream_options={"include_usage": True})
        async for _ in response:
            pass

    async def drain(router: Router) -> None:
        async for _ in router.stream(request):
            pass

    kinds = {
        "plain": {"raw SDK": raw_plain,
                  "router, same loop": lambda: plain_here.complete(request),
                  "router, other loop": lambda: plain_there.complete(request)},
        "streaming": {"raw SDK": raw_stream,
                      "router, same loop": lambda: drain(stream_here),
                      "router, other loop": lambda: drain(stream_there)},
    }
    times: dict[str, dict[str, list[float]]] = {k: {c: [] for c in v} for k, v in kinds.items()}
    for kind, clients in kinds.items():
        names = list(clients)
        for i in range(warmup + calls):
            # take turns call by call, each client first in turn, so all see the same machine
            for name in names[i % len(names):] + names[:i % len(names)]:
                started = time.perf_counter()
                await clients[name]()
                if i >= warmup:
                    times[kind][name].append(time.perf_counter() - started)
    await raw.close()
    for router in (plain_here, stream_here):
        for deployment in router.deployments.values():
            await deployment.connector.aclose()
    plain_there.close()
    stream_there.close()
    return times


class Instant(ConnectorBase):
    """A connector that answers at once: the router's own cost, with no I/O under it."""

    name = "instant"

    async def complete(self, request: CompletionRequest) -> Completion:
        return Completion(text="".join(PIECES), provider=self.name, model=self.model,
                          tokens_in=5, tokens_out=len(PIECES), latency_s=0.0,
                          finish_reason="stop")

    async def stream(self, request: CompletionRequest):  # type: ignore[no-untyped-def]
        for piece in PIECES:
            yield Chunk.delta(piece)
        yield Chunk.finish("stop")
        yield Chunk.usage(5, len(PIECES))


async def router_alone(calls: int, warmup: int) -> dict[str, list[float]]:
    request = CompletionRequest(prompt="write add", max_tokens=64)
    times: dict[str, list[float]] = {}
    for adopt in (True, False):
        for stream in (False, True):
            router = Router([Deployment("instant", Instant(MODEL), stream=stream,
                                        context_window=8192)])
            if adopt:
                router.adopt_loop()
            name = (f"{'streaming' if stream else 'plain'}, "
                    f"{'same loop' if adopt else 'other loop'}")
            times[name] = []
            for i in range(warmup + calls):
                started = time.perf_counter()
                if stream:
                    async for _ in router.stream(request):
                        pass
                else:
                    await router.complete(request)
                if i >= warmup:
                    times[name].append(time.perf_counter() - started)
            if not adopt:
                router.close()
    return times


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if q < 100 else \
        max(values)


def report(times: dict[str, dict[str, list[float]]]) -> None:
    print(f"python {platform.python_version()}, openai {openai.__version__}, "
          f"{platform.machine()}")
    for kind, clients in times.items():
        base = clients["raw SDK"]
        b50, b99 = percentile(base, 50), percentile(base, 99)
        print(f"\n{kind} ({len(base)} calls each)")
        print(f"{'client':<20} {'p50 ms':>8} {'p99 ms':>8} {'added p50':>10} {'ratio p50':>10}"
              f" {'ratio p99':>10}")
        for name, values in clients.items():
            p50, p99 = percentile(values, 50), percentile(values, 99)
            print(f"{name:<20} {p50 * 1e3:8.3f} {p99 * 1e3:8.3f} {(p50 - b50) * 1e3:+9.3f}ms"
                  f" {p50 / b50:10.3f} {p99 / b99:10.3f}")


def report_alone(times: dict[str, list[float]]) -> None:
    print("\nthe router alone, no network (a connector that answers at once)")
    print(f"{'call':<24} {'p50 us':>8} {'p99 us':>8}")
    for name, values in times.items():
        print(f"{name:<24} {percentile(values, 50) * 1e6:8.1f} {percentile(values, 99) * 1e6:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    process, url = start_server()
    try:
        report(asyncio.run(measure(url, args.calls, args.warmup)))
        report_alone(asyncio.run(router_alone(args.calls, args.warmup)))
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
