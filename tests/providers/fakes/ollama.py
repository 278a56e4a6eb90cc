"""Ollama's native API as its documentation describes it: ``/api/chat`` and ``/api/generate``
(NDJSON lines, the last with ``done``, ``done_reason``, ``prompt_eval_count`` and
``eval_count``; ``stream`` defaults to true), ``/api/tags``, ``/api/show`` (``model_info`` with
``<architecture>.context_length``, ``capabilities``), ``/api/embed``, and the model management
calls ``/api/pull`` (streamed progress), ``/api/delete`` and ``/api/copy``. Errors are
``{"error": "..."}``, as a body or as a line of a stream."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.providers.fakes.harness import FakeServer, early_response, stream

STAMP = "2025-01-01T00:00:00Z"
MODEL_ERROR = {"error": "an error was encountered while running the model"}


def _line(value: dict[str, Any]) -> bytes:
    return (json.dumps(value) + "\n").encode()


def build(server: FakeServer) -> Starlette:
    server.defaults = {"models": {"qwen2.5-coder:7b": 32768, "tiny:1b": 2048}}

    def missing(model: str) -> Response:
        return JSONResponse({"error": f"model '{model}' not found"}, status_code=404)

    async def complete(request: Request) -> Response:
        server.paths.append(request.url.path)
        body = await request.json()
        fault = server.next_fault(body)
        if (early := await early_response(fault, {"error": "llama runner process has "
                                                  "terminated"})) is not None:
            return early
        model = body["model"]
        if model not in server.options["models"]:
            return missing(model)
        chat = request.url.path == "/api/chat"
        prompt_words = (sum(len(m["content"].split()) for m in body["messages"]) if chat
                        else len(body["prompt"].split()))
        pieces = server.answer
        tools = chat and bool(body.get("tools"))

        def part(text: str) -> dict[str, Any]:
            if chat:
                return {"message": {"role": "assistant", "content": text}}
            return {"response": text}

        last = {"model": model, "created_at": STAMP, **part(""), "done": True,
                "done_reason": "stop", "total_duration": 1000, "prompt_eval_count": prompt_words,
                "eval_count": len(pieces)}
        if tools:
            last["message"]["tool_calls"] = [{"function": {
                "name": body["tools"][0]["function"]["name"], "arguments": {"a": 2, "b": 3}}}]
        if body.get("stream") is False:
            reply = dict(last)
            if chat:
                reply["message"] = {**last["message"],
                                    "content": "" if tools else "".join(pieces)}
            else:
                reply["response"] = "".join(pieces)
            return JSONResponse(reply)
        lines = [] if tools else [_line({"model": model, "created_at": STAMP, **part(p),
                                         "done": False}) for p in pieces]
        lines.append(_line(last))
        return stream(server, request, lines, fault, error=_line(MODEL_ERROR),
                      malformed=b"{not json\n", media_type="application/x-ndjson")

    async def tags(request: Request) -> Response:
        server.paths.append(request.url.path)
        return JSONResponse({"models": [
            {"name": name, "model": name, "modified_at": STAMP, "size": 1, "digest": "sha256:0",
             "details": {"format": "gguf", "family": "qwen2"}}
            for name in server.options["models"]]})

    async def show(request: Request) -> Response:
        server.paths.append(request.url.path)
        model = (await request.json())["model"]
        if model not in server.options["models"]:
            return missing(model)
        return JSONResponse({
            "modelfile": "FROM x", "parameters": "", "template": "{{ .Prompt }}",
            "details": {"format": "gguf", "family": "qwen2", "parameter_size": "7.6B",
                        "quantization_level": "Q4_K_M"},
            "model_info": {"general.architecture": "qwen2", "general.parameter_count": 7.6e9,
                           "qwen2.context_length": server.options["models"][model],
                           "qwen2.embedding_length": 3584},
            "capabilities": ["completion", "tools"]})

    async def embed(request: Request) -> Response:
        server.paths.append(request.url.path)
        body = await request.json()
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return JSONResponse({"model": body["model"], "total_duration": 1,
                             "prompt_eval_count": len(inputs),
                             "embeddings": [[float(len(t)), 0.5] for t in inputs]})

    async def pull(request: Request) -> Response:
        server.paths.append(request.url.path)
        model = (await request.json())["model"]
        if model.startswith("missing"):
            lines = [_line({"status": "pulling manifest"}),
                     _line({"error": "pull model manifest: file does not exist"})]
        else:
            lines = [_line({"status": "pulling manifest"})]
            lines += [_line({"status": "pulling sha256:1", "digest": "sha256:1", "total": 100,
                             "completed": done}) for done in (0, 50, 100)]
            lines += [_line({"status": s}) for s in ("verifying sha256 digest",
                                                     "writing manifest", "success")]
            server.options["models"][model] = 4096
        return stream(server, request, lines, None, error=b"",
                      media_type="application/x-ndjson")

    async def delete(request: Request) -> Response:
        server.paths.append(request.url.path)
        model = (await request.json())["model"]
        if server.options["models"].pop(model, None) is None:
            return missing(model)
        return Response(status_code=200)

    async def copy(request: Request) -> Response:
        server.paths.append(request.url.path)
        body = await request.json()
        if body["source"] not in server.options["models"]:
            return missing(body["source"])
        server.options["models"][body["destination"]] = server.options["models"][body["source"]]
        return Response(status_code=200)

    return Starlette(routes=[
        Route("/api/chat", complete, methods=["POST"]),
        Route("/api/generate", complete, methods=["POST"]),
        Route("/api/tags", tags, methods=["GET"]),
        Route("/api/show", show, methods=["POST"]),
        Route("/api/embed", embed, methods=["POST"]),
        Route("/api/pull", pull, methods=["POST"]),
        Route("/api/delete", delete, methods=["DELETE"]),
        Route("/api/copy", copy, methods=["POST"]),
    ])
