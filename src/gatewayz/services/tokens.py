"""Counting tokens for upstreams that report no usage.

OpenAI-compatible servers normally report ``usage``; some (llama.cpp's Python server in a
stream, for one) do not. A model may name a ``tokenizer`` in its configuration: a
Hugging Face ``tokenizer.json`` file, or a GGUF model (a packaged name such as
``smollm2-135m-instruct`` or a path), whose vocabulary and chat template give exact prompt
counts. Without one, the gateway falls back to an estimate (see ``inference.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from gatewayz.errors import InvalidRequest
from gatewayz.local._lazy import local_requirement
from gatewayz.local.llama import PACKAGED_GGUF, LlamaModel, gguf_path

JSONDict = dict[str, Any]
# Role markers and separators a chat template adds per message, for tokenizer.json files
# (which carry no template): the usual ChatML-style count.
TEMPLATE_TOKENS_PER_MESSAGE = 4


class TokenCounter(Protocol):
    def prompt_tokens(self, op: str, payload: JSONDict) -> int: ...

    def text_tokens(self, text: str) -> int: ...


class GGUFCounter:
    """The vocabulary and chat template of a GGUF model (no weights are loaded)."""

    def __init__(self, spec: str) -> None:
        self._model = LlamaModel(gguf_path(spec), n_ctx=512, vocab_only=True)

    def prompt_tokens(self, op: str, payload: JSONDict) -> int:
        return self._model.prompt_tokens(op, payload)

    def text_tokens(self, text: str) -> int:
        return self._model.count_tokens(text)


class HFTokenizerCounter:
    """A Hugging Face ``tokenizer.json`` (the ``tokenizers`` package, local extra)."""

    def __init__(self, path: str) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise InvalidRequest(
                "tokenizer.json files need the package 'tokenizers': pip install "
                f"'{local_requirement('tokenizers')}'"
            ) from None
        self._tokenizer = Tokenizer.from_file(path)

    def text_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def prompt_tokens(self, op: str, payload: JSONDict) -> int:
        if op == "completion":
            return self.text_tokens(str(payload.get("prompt") or ""))
        messages = payload.get("messages") or []
        return sum(
            TEMPLATE_TOKENS_PER_MESSAGE + self.text_tokens(f"{m.get('role')}\n{m.get('content')}")
            for m in messages
            if isinstance(m, dict)
        )


class Tokenizers:
    """Loads each configured tokenizer once, off the event loop, on first need."""

    def __init__(self) -> None:
        self._loaded: dict[str, TokenCounter] = {}
        self._lock = asyncio.Lock()

    def loaded(self, spec: str) -> TokenCounter | None:
        return self._loaded.get(spec)

    async def get(self, spec: str) -> TokenCounter:
        counter = self._loaded.get(spec)
        if counter is None:
            async with self._lock:
                counter = self._loaded.get(spec)
                if counter is None:
                    counter = await asyncio.to_thread(_load, spec)
                    self._loaded[spec] = counter
        return counter


def _load(spec: str) -> TokenCounter:
    if spec in PACKAGED_GGUF or spec.endswith(".gguf"):
        return GGUFCounter(spec)
    return HFTokenizerCounter(spec)
