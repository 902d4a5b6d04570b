"""Helpers for async streams of chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


async def prepend(first: T | None, rest: AsyncIterator[T]) -> AsyncIterator[T]:
    """``first`` (already taken from ``rest``, unless the stream was empty), then ``rest``."""
    if first is not None:
        yield first
    async for item in rest:
        yield item
