"""Helpers for async streams of chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


async def prepend(first: T | None, rest: AsyncIterator[T]) -> AsyncIterator[T]:
    """``first`` (already taken from ``rest``, unless the stream was empty), then ``rest``."""
    if first is not None:
        yield first
    async for item in rest:
        yield item


@dataclass(slots=True)
class ChatDelta:
    """What one chunk of a chat completion stream adds to its first choice."""

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: object = None
    usage: Any = None  # the chunk's ``usage``, as sent (the last chunk's, usually)


async def chat_deltas(chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[ChatDelta]:
    """The first choice's text, tool-call pieces and finish reason, and the usage, of each
    chunk of a chat completion stream (what the other API families translate)."""
    async for chunk in chunks:
        out = ChatDelta(usage=chunk.get("usage"))
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                out.text += str(delta["content"])
            out.tool_calls += [c for c in delta.get("tool_calls") or () if isinstance(c, dict)]
            out.finish_reason = choice.get("finish_reason") or out.finish_reason
        yield out
