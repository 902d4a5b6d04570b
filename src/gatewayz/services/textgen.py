"""Translation between Hugging Face text-generation / conversational bodies and the OpenAI
requests and answers the upstream adapters speak."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import TypeAdapter, ValidationError

from gatewayz.errors import InvalidTaskInput
from gatewayz.schemas.hf import ConversationalRequest, TextGenerationParameters
from gatewayz.schemas.openai import ChatMessage
from gatewayz.schemas.validate import field_path
from gatewayz.upstreams.base import JSONDict

_MESSAGES = TypeAdapter(list[ChatMessage])


def sampling_payload(params: TextGenerationParameters) -> JSONDict:
    """HF generation parameters as OpenAI sampling fields."""
    out: JSONDict = {}
    if params.max_new_tokens is not None:
        out["max_tokens"] = params.max_new_tokens
    if params.do_sample is False:
        out["temperature"] = 0.0
    elif params.temperature is not None:
        out["temperature"] = params.temperature
    for key in ("top_p", "top_k", "seed", "frequency_penalty", "repetition_penalty"):
        value = getattr(params, key)
        if value is not None:
            out[key] = value
    stop = (params.stop or []) + (params.stop_sequences or [])
    if stop:
        out["stop"] = stop
    return out


def conversation_messages(req: ConversationalRequest) -> list[JSONDict]:
    """The OpenAI messages of a conversational request, in whichever form it came."""
    inputs: Any = req.inputs
    if req.messages is not None:
        return [m.model_dump(exclude_none=True) for m in req.messages]
    if isinstance(inputs, str):
        if not inputs:
            raise InvalidTaskInput("inputs: the message is empty")
        return [{"role": "user", "content": inputs}]
    where: tuple[str, ...] = ("inputs",)
    if isinstance(inputs, dict):
        inputs, where = inputs.get("messages"), ("inputs", "messages")
    if isinstance(inputs, list) and inputs:
        try:
            messages = _MESSAGES.validate_python(inputs)
        except ValidationError as exc:
            path = field_path((*where, *exc.errors()[0]["loc"]))
            raise InvalidTaskInput(f"{path}: {exc.errors()[0]['msg']}") from None
        return [m.model_dump(exclude_none=True) for m in messages]
    raise InvalidTaskInput("inputs: send a list of {role, content} messages (or a string)")


def first_text(answer: JSONDict) -> tuple[str, str | None]:
    """The generated text and finish reason of the first choice of an OpenAI answer."""
    choices = answer.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    text = choice.get("text") if "text" in choice else message.get("content")
    return str(text or ""), choice.get("finish_reason")


def generation_details(answer: JSONDict, finish: str | None, seed: int | None) -> JSONDict:
    usage = answer.get("usage") or {}
    return {
        "finish_reason": {"stop": "stop_sequence", "length": "length"}.get(
            finish or "", "eos_token"
        ),
        "generated_tokens": int(usage.get("completion_tokens") or 0),
        "seed": seed,
        "prefill": [],
        "tokens": [],
    }


async def tgi_events(
    chunks: AsyncIterator[JSONDict], prompt: str, full_text: bool, seed: int | None
) -> AsyncIterator[JSONDict]:
    """OpenAI completion chunks as TGI's streamed token events. The last event carries the
    whole ``generated_text`` and ``details``. Token ids and log-probabilities are not
    reported by OpenAI-compatible upstreams, so they are sent as -1 and null."""
    parts: list[str] = []
    index = 0
    pending: JSONDict | None = None
    finish: str | None = None
    usage: JSONDict = {}
    async for chunk in chunks:
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or ():
            finish = choice.get("finish_reason") or finish
            text = choice.get("text") or (choice.get("delta") or {}).get("content") or ""
            if not text:
                continue
            if pending is not None:
                yield pending
            index += 1
            parts.append(text)
            pending = {
                "index": index,
                "token": {"id": -1, "text": text, "logprob": None, "special": False},
                "generated_text": None,
                "details": None,
            }
    if pending is None:
        pending = {
            "index": index + 1,
            "token": {"id": -1, "text": "", "logprob": None, "special": True},
            "generated_text": None,
            "details": None,
        }
    generated = "".join(parts)
    pending["generated_text"] = prompt + generated if full_text else generated
    pending["details"] = generation_details({"usage": usage}, finish, seed)
    yield pending
