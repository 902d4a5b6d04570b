import numpy as np
import pytest

from gatewayz.errors import InvalidTaskInput
from gatewayz.local.minilm import DIMENSIONS, MiniLM


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM()


def test_vectors_are_384_unit_floats_in_input_order(model: MiniLM) -> None:
    vectors = model.embed(["cat", "kitten", "the stock market fell today"])
    assert len(vectors) == 3
    assert all(len(v) == DIMENSIONS and all(isinstance(x, float) for x in v) for v in vectors)
    assert np.allclose(np.linalg.norm(np.array(vectors), axis=1), 1.0, atol=1e-5)


def test_related_words_are_closer_than_unrelated(model: MiniLM) -> None:
    cat, kitten, stocks = np.array(model.embed(["cat", "kitten", "stock market"]))
    assert cat @ kitten > 0.6
    assert cat @ stocks < 0.3


def test_padding_in_a_batch_does_not_change_a_vector(model: MiniLM) -> None:
    alone = np.array(model.embed(["A short sentence."])[0])
    batched = np.array(model.embed(["A short sentence.", "word " * 100])[0])
    assert alone @ batched > 0.9999


def test_unnormalized_vectors_are_the_mean_pooled_ones(model: MiniLM) -> None:
    raw = np.array(model.embed(["hello world"], normalize=False)[0])
    unit = np.array(model.embed(["hello world"])[0])
    assert abs(np.linalg.norm(raw) - 1.0) > 0.01
    assert np.allclose(raw / np.linalg.norm(raw), unit, atol=1e-5)


def test_long_input_truncates_or_is_refused(model: MiniLM) -> None:
    long = "word " * 600
    assert len(model.embed([long])[0]) == DIMENSIONS
    with pytest.raises(InvalidTaskInput, match="256 tokens"):
        model.embed([long], truncate=False)


def test_token_counts_include_special_tokens_and_truncation(model: MiniLM) -> None:
    assert model.token_lengths(["hello world"]) == [4]  # [CLS] hello world [SEP]
    long = "word " * 600
    assert model.count_tokens([long]) == model.max_tokens == 256
    assert model.count_tokens([long], truncate=False) == 602
    assert model.count_tokens(["hello world", "hello world"]) == 8


def test_bad_inputs_are_refused(model: MiniLM) -> None:
    with pytest.raises(InvalidTaskInput):
        model.embed("not a list")
    with pytest.raises(InvalidTaskInput):
        model.embed(["ok", 3])  # type: ignore[list-item]
