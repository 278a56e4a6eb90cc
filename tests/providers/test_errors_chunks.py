"""Error kinds, Retry-After parsing, and folding a stream's chunks into an answer."""

from __future__ import annotations

import email.utils

import pytest

from podium.providers import Chunk, StreamAssembler
from podium.providers.errors import kind_for_status, retry_after_seconds


@pytest.mark.parametrize(("status", "code", "kind"), [
    (408, "", "timeout"), (409, "", "conflict"), (429, "rate_limit_exceeded", "rate_limit"),
    (429, "insufficient_quota", "quota"), (500, "", "server"), (503, "", "server"),
    (529, "", "overloaded"), (500, "overloaded_error", "overloaded"), (401, "", "auth"),
    (403, "", "auth"), (400, "", "bad_request"), (404, "", "bad_request"),
    (400, "context_length_exceeded", "context_length"), (402, "", "quota"),
    (500, "invalid_request_error", "bad_request"),
])
def test_kinds(status: int, code: str, kind: str) -> None:
    assert kind_for_status(status, code) == kind


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    later = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after_seconds({"retry-after-ms": "250", "Retry-After": "9"}, now) == 0.25
    assert retry_after_seconds({"Retry-After": "9"}, now) == 9.0
    assert retry_after_seconds({"Retry-After": later}, now) == pytest.approx(30, abs=1)
    for unreadable in ({"Retry-After": "soon"}, {"Retry-After": "-5"}, {}, None):
        assert retry_after_seconds(unreadable, now) is None


def test_the_assembler_joins_text_and_tool_fragments_and_keeps_the_last_usage() -> None:
    answer = StreamAssembler()
    for chunk in (Chunk.usage(10, 1), Chunk.delta("Hel"), Chunk.delta("lo"),
                  Chunk.tool_call(1, call_id="b", name="g", arguments='{"y"'),
                  Chunk.tool_call(0, call_id="a", name="f", arguments="{"),
                  Chunk.tool_call(1, arguments=": 2}"), Chunk.tool_call(0, arguments="}"),
                  Chunk.usage(tokens_out=7), Chunk.finish("stop")):
        answer.add(chunk)
    assert answer.text == "Hello"
    assert answer.tool_calls() == [("a", "f", "{}"), ("b", "g", '{"y": 2}')]
    assert (answer.tokens_in, answer.tokens_out, answer.finish_reason) == (10, 7, "stop")
    answer.add(Chunk.error("attempt 1 failed", 1))  # withdraws everything gathered
    assert (answer.text, answer.tool_calls(), answer.tokens_in) == ("", [], None)
