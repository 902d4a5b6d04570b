"""The most a request can consume, known before it is sent.

A request's *bound* is an upper limit on each usage count, from the request alone:

- prompt tokens: every byte of the JSON of what can reach the prompt (messages or
  prompt, tools, tool_choice, response_format) could be a token (a byte-level tokenizer
  never needs more), plus the chat template's own tokens; a part that is not text
  (an image, audio, a file) could be any number of tokens, so it raises the bound to the
  whole context window. The prompt of each sequence fits in the context window.
- output tokens: ``max_tokens`` (or the whole context when absent), each capped by the
  context window, times the number of sequences generated: ``n`` (or ``best_of``,
  whichever is larger) for each prompt.
- non-chat tasks: the task prompt a chat upstream is given around the inputs plus every
  text byte, the structured answer's token cap, one image for text-to-image.

Its cost is what a credit hold reserves (never more than a full context window per
sequence at the dearer of the two token prices). Usage an upstream reports beyond the
bound is implausible: it is billed at the bound and flagged (see ``inference.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gatewayz.config import ModelConfig
from gatewayz.money import Usage, cost_nano_usd
from gatewayz.tasks.base import STRUCTURED_MAX_TOKENS

# Chat templates wrap the prompt in role markers (fewer tokens per message than the JSON
# of a message has bytes of syntax) and sometimes a default system prompt...
TEMPLATE_TOKENS = 64
# ...and tool definitions in a preamble of instructions.
TOOLS_TEMPLATE_TOKENS = 256
# The fields of a request that can reach the model's prompt.
PROMPT_FIELDS = (
    "messages",
    "prompt",
    "suffix",
    "tools",
    "functions",
    "tool_choice",
    "response_format",
    # A Responses API request, passed through to a server that speaks it.
    "input",
    "instructions",
    "text",
)
# The task prompt a chat upstream is given around a task's inputs, in tokens at most.
TASK_PROMPT_TOKENS = 1_024


@dataclass(frozen=True, slots=True)
class Bound:
    """The most of each usage count of one request. ``windows`` is the number of context
    windows the request's sequences can fill (each sequence's prompt and output share
    one), with ``outputs`` sequences per window's prompt."""

    usage: Usage
    windows: int = 0
    outputs: int = 1

    def clamp(self, usage: Usage) -> tuple[Usage, bool]:
        """``usage`` with every count cut to the bound, and whether any was past it."""
        top = self.usage
        if (
            usage.input_tokens <= top.input_tokens
            and usage.output_tokens <= top.output_tokens
            and usage.images <= top.images
            and usage.input_chars <= top.input_chars
        ):
            return usage, False
        clamped = Usage(
            input_tokens=min(usage.input_tokens, top.input_tokens),
            output_tokens=min(usage.output_tokens, top.output_tokens),
            images=min(usage.images, top.images),
            input_chars=min(usage.input_chars, top.input_chars),
            requests=usage.requests,
        )
        return clamped, clamped != usage

    def cost_nano_usd(self, model: ModelConfig) -> int:
        """The most the request can cost: what a credit hold reserves. No request costs
        more than a whole context window per sequence at the dearer token price."""
        cost = cost_nano_usd(model.pricing, self.usage)
        if not self.windows:
            return cost
        context = model.context_length
        window = max(
            cost_nano_usd(model.pricing, Usage(input_tokens=self.windows * context)),
            cost_nano_usd(
                model.pricing, Usage(output_tokens=self.windows * self.outputs * context)
            ),
        )
        return min(cost, window)


def _count(value: object, default: int) -> int:
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default
    )


# Content parts that are text: chat's, and the Responses API's.
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})


def _has_non_text(messages: list[Any]) -> bool:
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            for part in content:
                if not isinstance(part, dict) or part.get("type", "text") not in _TEXT_PARTS:
                    return True
    return False


def chat_bound(model: ModelConfig, payload: dict[str, Any]) -> Bound:
    """The bound of a chat or text completion request, or of a Responses API request
    (OpenAI bodies)."""
    context = model.context_length
    messages = payload.get("messages")
    if messages is None and isinstance(payload.get("input"), list):  # Responses API items
        messages = payload["input"]
    prompt = payload.get("prompt")
    prompts = len(prompt) if isinstance(prompt, list) and prompt else 1
    per_prompt = max(_count(payload.get("n"), 1), _count(payload.get("best_of"), 1))
    sequences = prompts * per_prompt
    if isinstance(messages, list) and _has_non_text(messages):
        prompt_tokens = context
    else:
        text = orjson.dumps([payload.get(field) for field in PROMPT_FIELDS])
        tools = payload.get("tools") or payload.get("functions")
        prompt_tokens = TEMPLATE_TOKENS * prompts + len(text)
        if tools:
            prompt_tokens += TOOLS_TEMPLATE_TOKENS
    requested = (
        payload.get("max_completion_tokens")
        or payload.get("max_tokens")
        or payload.get("max_output_tokens")
    )
    per_sequence = min(_count(requested, context), context)
    usage = Usage(
        input_tokens=min(prompt_tokens, prompts * context),
        output_tokens=sequences * per_sequence,
    )
    return Bound(usage, windows=prompts, outputs=per_prompt)


def task_bound(model: ModelConfig, inputs: Any, task: str) -> Bound:
    """The bound of a non-chat task request."""
    text_bytes = _text_bytes(inputs)
    usage = Usage(
        input_tokens=TASK_PROMPT_TOKENS + text_bytes,
        output_tokens=STRUCTURED_MAX_TOKENS,
        images=1 if task == "text-to-image" else 0,
        input_chars=text_bytes,
    )
    return Bound(usage)


def _text_bytes(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, dict):
        return sum(len(str(k).encode()) + _text_bytes(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_text_bytes(v) for v in value)
    return len(str(value)) if value is not None else 0
