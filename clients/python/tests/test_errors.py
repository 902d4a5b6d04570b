"""Error answers of the live gateway become the documented exception classes, sync and
async, carrying status, message and request id, and never the API key."""

from __future__ import annotations

import pytest

from conftest import Client, Factory
from gatewayz_py_hf import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    GatewayzError,
    InsufficientCreditsError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableEntityError,
)
from live import Gateway


def test_401_on_both_route_families(make_client: Factory, gateway: Gateway) -> None:
    secret = "gwz_not-a-real-key-4f1c9e"
    client = make_client(secret, base_url=gateway.url, max_retries=0)
    with pytest.raises(AuthenticationError) as openai_route:
        client.chat_completion([{"role": "user", "content": "hi"}], model="smol-chat")
    with pytest.raises(AuthenticationError) as hf_route:
        client.summarization("Some text.", model="summarizer")
    for info in (openai_route, hf_route):
        err = info.value
        assert err.status_code == 401 and err.message
        assert err.request_id is not None and len(err.request_id) == 36
        assert err.headers["inference-id"] == err.request_id
        assert secret not in f"{err} {err!r} {vars(err)} {err.body}"
        assert secret not in repr(client.raw)
    assert openai_route.value.error_type == "authentication_error"


def test_403(client: Client) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        client.get_request_costs(["anything"])
    assert info.value.status_code == 403 and "admin or partner" in info.value.message


def test_404_unknown_model(client: Client) -> None:
    with pytest.raises(NotFoundError) as info:
        client.summarization("Some text.", model="no-such-model")
    assert info.value.status_code == 404 and "no-such-model" in info.value.message
    assert info.value.request_id


def test_400_model_does_not_serve_task(client: Client) -> None:
    with pytest.raises(BadRequestError) as info:
        client.summarization("Some text.", model="minilm")
    assert info.value.status_code == 400


def test_422_bad_task_input(client: Client) -> None:
    with pytest.raises(UnprocessableEntityError) as info:
        client.fill_mask("no mask here", model="fill")
    assert info.value.status_code == 422 and "[MASK]" in info.value.message
    with pytest.raises(UnprocessableEntityError) as cost:
        client.calculate_cost(
            [{"task": "text-generation", "model": "gpt-3.5-turbo", "input_tokens": -1}]
        )
    assert "requests" in cost.value.message


def test_402_insufficient_credits(
    make_client: Factory, gateway: Gateway, keys: dict[str, str]
) -> None:
    client = make_client(keys["broke"], base_url=gateway.url, max_retries=0)
    with pytest.raises(InsufficientCreditsError) as info:
        client.text_generation("Hello", model="gpt-3.5-turbo", max_new_tokens=2)
    assert info.value.status_code == 402 and info.value.request_id


def test_5xx_no_embedded_image_model(client: Client) -> None:
    with pytest.raises(InternalServerError) as info:
        client.text_to_image("a cat", model="no-painter")
    assert info.value.status_code == 501 and "upstream" in info.value.message


def test_hierarchy() -> None:
    for cls in (
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        UnprocessableEntityError,
        InsufficientCreditsError,
        InternalServerError,
    ):
        assert issubclass(cls, APIStatusError) and issubclass(cls, GatewayzError)
