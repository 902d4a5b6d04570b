"""The OpenAI-compatible methods against the live gateway, sync and async."""

from __future__ import annotations

import math
from decimal import Decimal

from conftest import Client
from gatewayz_py_hf import ChatCompletionChunk, Completion


def test_chat_completion(client: Client) -> None:
    result = client.chat_completion(
        [{"role": "user", "content": "Say hi."}], model="smol-chat", max_tokens=3, temperature=0
    )
    assert result.choices[0].message.role == "assistant"
    assert result.content == result.choices[0].message.content and result.content
    assert result.usage is not None and 0 < result.usage.completion_tokens <= 3
    assert len(result.inference_id) == 36


def test_chat_completion_stream(client: Client) -> None:
    rid, chunks = client.collect(
        "chat_completion_stream",
        [{"role": "user", "content": "Say hi."}],
        model="smol-chat",
        max_tokens=3,
        temperature=0,
    )
    assert chunks and all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert "".join(c.content for c in chunks).strip()
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert [f for f in finishes if f] in (["stop"], ["length"])
    assert {c.inference_id for c in chunks} == {rid}


def test_completion_and_stream(client: Client) -> None:
    whole = client.completion(
        "The capital of France is", model="gpt-3.5-turbo", max_tokens=3, temperature=0
    )
    assert whole.text and whole.choices[0].finish_reason in ("stop", "length")
    _, chunks = client.collect(
        "completion_stream",
        "The capital of France is",
        model="gpt-3.5-turbo",
        max_tokens=3,
        temperature=0,
    )
    assert all(isinstance(c, Completion) for c in chunks)
    assert "".join(c.text for c in chunks) == whole.text  # temperature 0: the same words


def test_embeddings_base64_and_float_agree(client: Client) -> None:
    packed = client.embeddings(["hello world", "goodbye"], model="minilm")
    floats = client.embeddings("hello world", model="minilm", encoding_format="float")
    assert len(packed.data) == 2 and len(packed.data[0].embedding) == 384
    assert packed.usage.prompt_tokens > 0 and packed.model == "minilm"
    assert all(
        math.isclose(a, b, abs_tol=1e-5)
        for a, b in zip(packed.data[0].embedding, floats.data[0].embedding, strict=True)
    )
    short = client.embeddings("hello", model="minilm", dimensions=8)
    assert len(short.data[0].embedding) == 8


def test_image_generation(client: Client) -> None:
    result = client.image_generation("a boat", model="painter", size="64x64", seed=1)
    assert len(result.images) == 1 and result.images[0].startswith(b"\x89PNG")


def test_list_openai_models_has_exact_prices(client: Client) -> None:
    page = client.list_openai_models()
    by_id = {m.id: m for m in page.data}
    gpt = by_id["gpt-3.5-turbo"]
    assert gpt.pricing.input == Decimal("0.50") and gpt.pricing.output == Decimal("1.50")
    assert isinstance(gpt.pricing.input, Decimal) and gpt.context_length == 2048
    assert by_id["minilm"].task == "feature-extraction"
