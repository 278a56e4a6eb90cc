"""OpenAI's cloud API as its documentation describes it: chat completions (JSON, or server-sent
events ending in ``data: [DONE]``, the usage in a last chunk whose ``choices`` are empty when
``stream_options.include_usage`` is set), tool-call deltas, ``/v1/models``, ``/v1/embeddings``,
and errors as ``{"error": {message, type, param, code}}``, also inside an HTTP 200 stream."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.providers.fakes.harness import FakeServer, early_response, stream

SERVER_ERROR = {"error": {"message": "The server had an error while processing your request.",
                          "type": "server_error", "param": None, "code": None}}
RATE_LIMITED = {"error": {"message": "Rate limit reached for requests", "type": "requests",
                          "param": None, "code": "rate_limit_exceeded"}}
NO_QUOTA = {"error": {"message": "You exceeded your current quota, please check your plan and "
                      "billing details.", "type": "insufficient_quota", "param": None,
                      "code": "insufficient_quota"}}
TOOL_ARGUMENTS = ['{"a": ', "2, ", '"b": 3}']


def _chunk(model: str, delta: dict[str, Any] | None, finish: str | None = None,
           usage: dict[str, int] | None = None, choices: Any = ...) -> bytes:
    body: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion.chunk",
                            "created": 1, "model": model}
    body["choices"] = ([{"index": 0, "delta": delta, "finish_reason": finish}]
                       if choices is ... else choices)
    if usage is not None:
        body["usage"] = usage
    return f"data: {json.dumps(body)}\n\n".encode()


def build(server: FakeServer) -> Starlette:
    server.defaults = {
        "null_choices": False,  # the usage chunk's `choices` as null rather than []
        "stream_usage": True,  # False: ignore stream_options, as some servers do
        "models": [{"id": "gpt-4o", "object": "model", "created": 0, "owned_by": "openai"}],
    }

    async def chat(request: Request) -> Response:
        server.paths.append(request.url.path)
        body = await request.json()
        fault = server.next_fault(body)
        if (early := await early_response(fault, SERVER_ERROR)) is not None:
            return early
        model, pieces = body["model"], server.answer
        words = sum(len(m["content"].split()) for m in body["messages"])
        usage = {"prompt_tokens": words, "completion_tokens": len(pieces),
                 "total_tokens": words + len(pieces)}
        tools = bool(body.get("tools"))
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": None if tools else
                                       "".join(pieces)}
            if tools:
                message["tool_calls"] = [{"id": "call_1", "type": "function", "function": {
                    "name": body["tools"][0]["function"]["name"],
                    "arguments": "".join(TOOL_ARGUMENTS)}}]
            return JSONResponse({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
                "choices": [{"index": 0, "message": message,
                             "finish_reason": "tool_calls" if tools else "stop"}],
                "usage": usage})
        frames = [_chunk(model, {"role": "assistant", "content": ""})]
        if tools:
            name = body["tools"][0]["function"]["name"]
            frames.append(_chunk(model, {"tool_calls": [{"index": 0, "id": "call_1",
                                 "type": "function", "function": {"name": name,
                                                                  "arguments": ""}}]}))
            frames += [_chunk(model, {"tool_calls": [{"index": 0, "function": {
                "arguments": part}}]}) for part in TOOL_ARGUMENTS]
            frames.append(_chunk(model, {}, "tool_calls"))
        else:
            frames += [_chunk(model, {"content": piece}) for piece in pieces]
            frames.append(_chunk(model, {}, "stop"))
        wants_usage = (body.get("stream_options") or {}).get("include_usage")
        if wants_usage and server.options["stream_usage"]:
            frames.append(_chunk(model, None, usage=usage,
                                 choices=None if server.options["null_choices"] else []))
        frames.append(b"data: [DONE]\n\n")
        error = f"data: {json.dumps(SERVER_ERROR)}\n\n".encode()
        return stream(server, request, frames, fault, error=error)

    async def models(request: Request) -> Response:
        server.paths.append(request.url.path)
        return JSONResponse({"object": "list", "data": server.options["models"]})

    async def embeddings(request: Request) -> Response:
        server.paths.append(request.url.path)
        body = await request.json()
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": [float(len(text)), 1.0]}
                for i, text in enumerate(inputs)]
        return JSONResponse({"object": "list", "data": list(reversed(data)),
                             "model": body["model"],
                             "usage": {"prompt_tokens": 1, "total_tokens": 1}})

    return Starlette(routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
    ])
