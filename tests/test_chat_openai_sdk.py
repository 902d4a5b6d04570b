"""Chat and completions through the official openai SDK, against a real upstream."""

from __future__ import annotations

import openai
import pytest

from tests.servers import Gateway


def client(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def test_chat_completion_has_answer_usage_and_inference_id(gateway: Gateway, user_key: str) -> None:
    raw = client(gateway, user_key).chat.completions.with_raw_response.create(
        model="smol-upstream",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=16,
        seed=1,
    )
    completion = raw.parse()
    assert len(raw.headers["inference-id"]) == 36
    assert completion._request_id == raw.headers["inference-id"]  # the SDK's ``x-request-id``
    assert completion.model == "smol-upstream"
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.prompt_tokens > 0
    assert 0 < completion.usage.completion_tokens <= 16


def test_chat_stream_ends_with_usage(gateway: Gateway, user_key: str) -> None:
    stream = client(gateway, user_key).chat.completions.create(
        model="smol-upstream",
        messages=[{"role": "user", "content": "Count to five."}],
        max_tokens=12,
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    usage = [c.usage for c in chunks if c.usage]
    assert usage and usage[-1].completion_tokens > 0


def test_wrong_key_is_401(gateway: Gateway) -> None:
    with pytest.raises(openai.AuthenticationError) as err:
        client(gateway, "gz_nope_nope").models.list()
    assert err.value.status_code == 401
    assert err.value.request_id == err.value.response.headers["inference-id"]
    assert err.value.request_id


def test_unknown_model_error_carries_the_request_id(gateway: Gateway, user_key: str) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client(gateway, user_key).chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert err.value.request_id == err.value.response.headers["inference-id"]
    assert err.value.request_id
