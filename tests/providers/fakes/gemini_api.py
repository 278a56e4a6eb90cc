"""Google's Gemini API (v1beta) as its documentation describes it: ``generateContent``,
``streamGenerateContent?alt=sse`` (each event a GenerateContentResponse; ``finishReason`` on
the last candidate, cumulative ``usageMetadata``), the model list and details with
``inputTokenLimit``, ``batchEmbedContents``, the key in ``x-goog-api-key``, and errors as
``{"error": {code, message, status, details}}``, RESOURCE_EXHAUSTED carrying a QuotaFailure
(``quotaValue`` "0" when the model is not in the key's plan) and a RetryInfo."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.providers.fakes.harness import FakeServer, early_response, stream

MODEL = "gemini-2.5-flash"
INTERNAL = {"error": {"code": 500, "message": "An internal error has occurred.",
                      "status": "INTERNAL"}}


def resource_exhausted(quota_value: str = "10",
                       quota_id: str = "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                       retry_delay: str = "2s") -> dict[str, Any]:
    return {"error": {
        "code": 429, "status": "RESOURCE_EXHAUSTED",
        "message": "You exceeded your current quota, please check your plan and billing "
                   f"details. Quota exceeded for metric: generate_content_free_tier_requests, "
                   f"limit: {quota_value}",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                "quotaMetric": "generativelanguage.googleapis.com/"
                               "generate_content_free_tier_requests",
                "quotaId": quota_id, "quotaDimensions": {"location": "global", "model": MODEL},
                "quotaValue": quota_value}]},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [{
                "description": "Learn more about Gemini API quotas",
                "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay},
        ]}}


def build(server: FakeServer) -> Starlette:
    server.defaults = {"models": {MODEL: 1_048_576, "text-embedding-004": 2048}}

    def info(name: str) -> dict[str, Any]:
        return {"name": f"models/{name}", "version": "001", "displayName": name,
                "inputTokenLimit": server.options["models"][name], "outputTokenLimit": 65_536,
                "supportedGenerationMethods": ["generateContent", "countTokens"]}

    def not_found(name: str) -> Response:
        return JSONResponse({"error": {"code": 404, "message": f"models/{name} is not found",
                                       "status": "NOT_FOUND"}}, status_code=404)

    async def call(request: Request) -> Response:
        server.paths.append(request.url.path)
        if not request.headers.get("x-goog-api-key"):
            return JSONResponse({"error": {"code": 403, "message": "Method doesn't allow "
                                           "unregistered callers", "status":
                                           "PERMISSION_DENIED"}}, status_code=403)
        name, _, method = request.path_params["call"].partition(":")
        if name not in server.options["models"]:
            return not_found(name)
        body = await request.json()
        if method == "batchEmbedContents":
            return JSONResponse({"embeddings": [
                {"values": [float(len(r["content"]["parts"][0]["text"])), 0.25]}
                for r in body["requests"]]})
        fault = server.next_fault(body)
        if (early := await early_response(fault, INTERNAL)) is not None:
            return early
        words = len(body["contents"][0]["parts"][0]["text"].split())
        pieces, tools = server.answer, body.get("tools")

        def response(parts: list[dict[str, Any]], done: int, finish: bool) -> dict[str, Any]:
            candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"},
                                         "index": 0}
            if finish:
                candidate["finishReason"] = "STOP"
            return {"candidates": [candidate], "modelVersion": name, "usageMetadata": {
                "promptTokenCount": words, "candidatesTokenCount": done,
                "totalTokenCount": words + done}}

        if tools:
            declared = tools[0]["functionDeclarations"][0]["name"]
            replies = [response([{"functionCall": {"name": declared,
                                                   "args": {"a": 2, "b": 3}}}], 1, True)]
        elif method == "generateContent":
            replies = [response([{"text": "".join(pieces)}], len(pieces), True)]
        else:
            replies = [response([{"text": p}], i + 1, i + 1 == len(pieces))
                       for i, p in enumerate(pieces)]
        if method == "generateContent":
            return JSONResponse(replies[0])
        frames = [f"data: {json.dumps(r)}\r\n\r\n".encode() for r in replies]
        return stream(server, request, frames, fault,
                      error=f"data: {json.dumps(INTERNAL)}\r\n\r\n".encode())

    async def models(request: Request) -> Response:
        server.paths.append(request.url.path)
        return JSONResponse({"models": [info(n) for n in server.options["models"]]})

    async def model(request: Request) -> Response:
        server.paths.append(request.url.path)
        name = request.path_params["name"]
        return JSONResponse(info(name)) if name in server.options["models"] else not_found(name)

    return Starlette(routes=[
        Route("/v1beta/models", models, methods=["GET"]),
        Route("/v1beta/models/{call:path}", call, methods=["POST"]),
        Route("/v1beta/models/{name}", model, methods=["GET"]),
    ])
