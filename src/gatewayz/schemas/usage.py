"""The ``usage`` object: read from an upstream's answer, written for the caller.

One reading rule for every answer (chat, completion, embeddings, a task served by a chat
model, and the Responses API's answers and stream events, whose counts are named
``input_tokens`` / ``output_tokens``): counts must be integers; a negative count is 0 and
a huge one ``MAX_COUNT``; a count that is required but missing or not an integer makes
the whole usage unknown (``None``), so the caller counts it instead of billing a guess.
"""

from __future__ import annotations

from typing import Any

from gatewayz.money import Usage

# Larger reported counts are not stored as they are (they fit a 64-bit column with room).
MAX_COUNT = 2**53

JSONDict = dict[str, Any]


def _count(value: Any) -> int | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return min(max(value, 0), MAX_COUNT)


def usage_of(answer: JSONDict, *, output: bool = True) -> Usage | None:
    """The usage ``answer`` reports, or None. ``output=False`` reads an answer that
    produces no tokens (embeddings), where ``completion_tokens`` is absent."""
    usage = answer.get("usage")
    response = answer.get("response")
    if usage is None and isinstance(response, dict):  # a Responses API stream event
        usage = response.get("usage")
    if not isinstance(usage, dict):
        return None
    prompt = _count(usage.get("prompt_tokens", usage.get("input_tokens")))
    completion = _count(usage.get("completion_tokens", usage.get("output_tokens"))) if output else 0
    if prompt is None or completion is None:
        return None
    return Usage(input_tokens=prompt, output_tokens=completion)


def usage_object(usage: Usage, *, output: bool = True) -> JSONDict:
    """``usage`` as the OpenAI object (without ``completion_tokens`` for embeddings)."""
    if not output:
        return {"prompt_tokens": usage.input_tokens, "total_tokens": usage.input_tokens}
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def responses_usage(usage: Usage) -> JSONDict:
    """``usage`` as the Responses API reports it."""
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def usage_chunk(last: JSONDict, model_id: Any, usage: Usage) -> JSONDict:
    """The last chunk of a stream, carrying only its usage (what ``include_usage`` asks)."""
    return {
        "id": last.get("id", ""),
        "object": last.get("object", "chat.completion.chunk"),
        "created": last.get("created", 0),
        "model": model_id,
        "choices": [],
        "usage": usage_object(usage),
    }
