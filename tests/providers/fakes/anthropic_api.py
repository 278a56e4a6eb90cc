"""Anthropic's Messages API as its documentation describes it: ``POST /v1/messages`` (JSON, or
server-sent events ``message_start``, ``content_block_start``, ``ping``,
``content_block_delta`` with ``text_delta`` / ``input_json_delta``, ``content_block_stop``,
``message_delta`` with the cumulative ``output_tokens``, ``message_stop``), errors as
``{"type": "error", "error": {"type", "message"}}`` (also as an ``error`` event inside a 200
stream; 429 ``rate_limit_error`` with Retry-After, 529 ``overloaded_error``), and the Models
API."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.providers.fakes.harness import FakeServer, early_response, stream

MODEL = "claude-sonnet-4-6"
TOOL_JSON = ['{"a": 2', ', "b": ', "3}"]


def error_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def build(server: FakeServer) -> Starlette:
    server.defaults = {"models": {MODEL: 200_000}}

    async def messages(request: Request) -> Response:
        server.paths.append(request.url.path)
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not (request.headers.get("x-api-key") or bearer):
            return JSONResponse(error_body("authentication_error", "x-api-key header is "
                                           "required"), status_code=401)
        body = await request.json()
        fault = server.next_fault(body)
        if (early := await early_response(fault, error_body("api_error", "Internal server "
                                                            "error"))) is not None:
            return early
        words = sum(len(m["content"].split()) for m in body["messages"])
        pieces, tools = server.answer, body.get("tools")
        stop = "tool_use" if tools else "end_turn"
        if not body.get("stream"):
            content: list[dict[str, Any]] = (
                [{"type": "tool_use", "id": "toolu_1", "name": tools[0]["name"],
                  "input": json.loads("".join(TOOL_JSON))}] if tools
                else [{"type": "text", "text": "".join(pieces)}])
            return JSONResponse({"id": "msg_1", "type": "message", "role": "assistant",
                                 "model": body["model"], "content": content,
                                 "stop_reason": stop, "stop_sequence": None,
                                 "usage": {"input_tokens": words, "output_tokens": len(pieces)}})
        frames = [_event("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "content": [],
            "model": body["model"], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": words, "output_tokens": 1}}})]
        if tools:
            frames.append(_event("content_block_start", {
                "type": "content_block_start", "index": 0, "content_block": {
                    "type": "tool_use", "id": "toolu_1", "name": tools[0]["name"],
                    "input": {}}}))
            frames += [_event("content_block_delta", {
                "type": "content_block_delta", "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": p}}) for p in TOOL_JSON]
        else:
            frames.append(_event("content_block_start", {
                "type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}))
            frames.append(_event("ping", {"type": "ping"}))
            frames += [_event("content_block_delta", {
                "type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": p}}) for p in pieces]
        frames.append(_event("content_block_stop", {"type": "content_block_stop", "index": 0}))
        frames.append(_event("message_delta", {
            "type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": len(pieces)}}))
        frames.append(_event("message_stop", {"type": "message_stop"}))
        return stream(server, request, frames, fault,
                      error=_event("error", error_body("overloaded_error", "Overloaded")))

    def info(model: str) -> dict[str, Any]:
        return {"type": "model", "id": model, "display_name": "Claude Sonnet 4",
                "created_at": "2025-05-14T00:00:00Z", "lifecycle": "active",
                "max_input_tokens": server.options["models"][model], "max_tokens": 64_000}

    async def models(request: Request) -> Response:
        server.paths.append(request.url.path)
        data = [info(m) for m in server.options["models"]]
        return JSONResponse({"data": data, "has_more": False, "first_id": data[0]["id"],
                             "last_id": data[-1]["id"]})

    async def model(request: Request) -> Response:
        server.paths.append(request.url.path)
        name = request.path_params["model"]
        if name not in server.options["models"]:
            return JSONResponse(error_body("not_found_error", f"model: {name}"),
                                status_code=404)
        return JSONResponse(info(name))

    return Starlette(routes=[
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/models/{model}", model, methods=["GET"]),
    ])
