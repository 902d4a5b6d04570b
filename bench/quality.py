"""How good the embedded models' answers are, on labelled sets, in one command.

    python bench/quality.py [--task zero-shot|sentiment|ner|summarization] [--split tune|test]

The sets are JSONL files in ``bench/eval/`` (written by hand, see ``bench/eval/README.md``).
Each is split in two halves by the CRC-32 of the text (even: the *tune* half, the examples
looked at while choosing methods and constants; odd: the *test* half, not looked at for
that), so the split does not depend on the order of the lines. Both are reported.

The models run through the gateway's own code (``gatewayz.local``), in this process, as the
embedded provider runs them. For zero-shot classification and summarization it also runs
the method the gateway used before (``baseline``) so the two can be compared in one run:

* zero-shot, baseline: softmax of the cosine of the text with "This example is {label}.";
* summarization, baseline: TextRank over the sentences, the top 30% (1 to 5) in order;
* sentiment, baseline: VADER alone, without MiniLM's evidence.

Figures:

* accuracy for zero-shot topic classification and sentiment (POSITIVE/NEGATIVE; a NEUTRAL
  answer counts as wrong);
* entity-level micro precision, recall and F1 for NER in the CoNLL scheme (PER, ORG, LOC,
  MISC): an entity counts when its text and type both match a gold one (a leading "the"
  and a trailing "'s" are ignored on both sides);
* ROUGE-1, ROUGE-2 and ROUGE-L F1 for summaries against one hand-written reference,
  averaged over the texts: lower-cased alphanumeric words, no stemming, no stop-word
  removal, ROUGE-L by the longest common subsequence of the whole summary.

Time per call is the mean wall time of one call, models already loaded.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EVAL = HERE / "eval"
TASKS = ("zero-shot", "sentiment", "ner", "summarization")
FILES = {
    "zero-shot": "zeroshot.jsonl",
    "sentiment": "sentiment.jsonl",
    "ner": "ner.jsonl",
    "summarization": "summarization.jsonl",
}
_WORD = re.compile(r"[a-z0-9]+")

Row = dict[str, Any]


def load(task: str) -> list[Row]:
    """Every example of a task's set, in file order."""
    with (EVAL / FILES[task]).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def split(rows: Sequence[Row], half: str) -> list[Row]:
    """The ``tune`` half, the ``test`` half or ``all`` of a set (see the module docstring)."""
    if half == "all":
        return list(rows)
    parity = {"tune": 0, "test": 1}[half]
    return [row for row in rows if zlib.crc32(row["text"].encode()) % 2 == parity]


# -- metrics ----------------------------------------------------------------------------


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float


def entity_prf(
    gold: Sequence[Sequence[tuple[str, str]]], predicted: Sequence[Sequence[tuple[str, str]]]
) -> PRF:
    """Micro precision/recall/F1 over (text, type) entities, each text's entities a multiset."""
    hits = found = wanted = 0
    for g, p in zip(gold, predicted, strict=True):
        g_count = Counter((_entity_text(w), t) for w, t in g)
        p_count = Counter((_entity_text(w), t) for w, t in p)
        hits += sum((g_count & p_count).values())
        found += sum(p_count.values())
        wanted += sum(g_count.values())
    precision = hits / found if found else 0.0
    recall = hits / wanted if wanted else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PRF(precision, recall, f1)


def _entity_text(word: str) -> str:
    text = word.strip()
    if text.lower().startswith("the "):
        text = text[4:]
    for suffix in ("'s", "\u2019s"):
        text = text.removesuffix(suffix)
    return text


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def rouge_n(reference: str, candidate: str, n: int) -> float:
    """ROUGE-N F1: clipped n-gram overlap."""
    ref, cand = _ngrams(words(reference), n), _ngrams(words(candidate), n)
    overlap = sum((ref & cand).values())
    return _f1(overlap, sum(cand.values()), sum(ref.values()))


def rouge_l(reference: str, candidate: str) -> float:
    """ROUGE-L F1: longest common subsequence of the two word sequences."""
    ref, cand = words(reference), words(candidate)
    return _f1(_lcs(ref, cand), len(cand), len(ref))


def _ngrams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _lcs(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def _f1(overlap: int, candidate_total: int, reference_total: int) -> float:
    if not overlap:
        return 0.0
    precision, recall = overlap / candidate_total, overlap / reference_total
    return 2 * precision * recall / (precision + recall)


# -- running the models -----------------------------------------------------------------


@dataclass
class Figures:
    name: str
    values: dict[str, float]
    seconds_per_call: float


def timed(call: Callable[[Row], Any], rows: Sequence[Row]) -> tuple[list[Any], float]:
    call(rows[0])  # load the models outside the timing
    started = time.perf_counter()
    answers = [call(row) for row in rows]
    return answers, (time.perf_counter() - started) / len(rows)


class Models:
    """The embedded models as the gateway builds them, shared by every task here."""

    def __init__(self) -> None:
        from gatewayz.local.minilm import MiniLM
        from gatewayz.local.ner import EntityRecognizer
        from gatewayz.local.sentiment import VaderSentiment
        from gatewayz.local.spacy_en import SpacyEnglish
        from gatewayz.local.summarize import ExtractiveSummarizer
        from gatewayz.local.zeroshot import ZeroShotClassifier

        self.minilm = MiniLM()
        self.spacy = SpacyEnglish()
        self.zeroshot = ZeroShotClassifier(self.minilm)
        self.summarizer = ExtractiveSummarizer(self.minilm, self.spacy)
        self.ner = EntityRecognizer(self.spacy, scheme="conll")
        self.sentiment = VaderSentiment(self.minilm)
        self.vader_alone = VaderSentiment()


def zero_shot(models: Models, rows: Sequence[Row]) -> list[Figures]:
    gold = [row["label"] for row in rows]

    def current(row: Row) -> str:
        return str(models.zeroshot.classify(row["text"], row["candidate_labels"])[0]["label"])

    def baseline(row: Row) -> str:
        labels = row["candidate_labels"]
        hypotheses = [f"This example is {label}." for label in labels]
        vectors = models.minilm.embed_array([row["text"], *hypotheses])
        cosines = (vectors[1:] @ vectors[0]).tolist()
        return str(labels[max(range(len(labels)), key=lambda i: cosines[i])])

    figures = []
    for name, call in (("baseline", baseline), ("gateway", current)):
        answers, seconds = timed(call, rows)
        figures.append(Figures(name, {"accuracy": accuracy(gold, answers)}, seconds))
    return figures


def sentiment(models: Models, rows: Sequence[Row]) -> list[Figures]:
    gold = [row["label"] for row in rows]
    figures = []
    for name, model in (("baseline", models.vader_alone), ("gateway", models.sentiment)):
        answers, seconds = timed(lambda row, m=model: m.classify(row["text"])[0]["label"], rows)
        figures.append(Figures(name, {"accuracy": accuracy(gold, answers)}, seconds))
    return figures


def ner(models: Models, rows: Sequence[Row]) -> list[Figures]:
    def call(row: Row) -> list[tuple[str, str]]:
        return [(e["word"], e["entity_group"]) for e in models.ner.recognize(row["text"])]

    answers, seconds = timed(call, rows)
    gold = [[(e["word"], e["type"]) for e in row["entities"]] for row in rows]
    prf = entity_prf(gold, answers)
    values = {"precision": prf.precision, "recall": prf.recall, "f1": prf.f1}
    return [Figures("gateway", values, seconds)]


def summarization(models: Models, rows: Sequence[Row]) -> list[Figures]:
    def current(row: Row) -> str:
        return models.summarizer.summarize(row["text"])

    def baseline(row: Row) -> str:
        sentences = models.summarizer.sentences(row["text"])
        if len(sentences) < 2:
            return " ".join(sentences)
        ranks = textrank(models.minilm.embed_array(sentences))
        limit = min(5, max(1, math.ceil(0.3 * len(sentences))))
        best = sorted(range(len(sentences)), key=lambda i: (-ranks[i], i))[:limit]
        return " ".join(sentences[i] for i in sorted(best))

    figures = []
    for name, call in (("baseline", baseline), ("gateway", current)):
        answers, seconds = timed(call, rows)
        refs = [row["summary"] for row in rows]
        values = {
            "rouge1": _mean([rouge_n(r, a, 1) for r, a in zip(refs, answers, strict=True)]),
            "rouge2": _mean([rouge_n(r, a, 2) for r, a in zip(refs, answers, strict=True)]),
            "rougeL": _mean([rouge_l(r, a) for r, a in zip(refs, answers, strict=True)]),
        }
        figures.append(Figures(name, values, seconds))
    return figures


def textrank(vectors: Any, damping: float = 0.85) -> list[float]:
    """The summarizer's former ranking: PageRank over sentences linked by their positive
    cosine similarity (unit row vectors in)."""
    import numpy as np

    n = len(vectors)
    weights = np.clip(vectors.astype(np.float64) @ vectors.T.astype(np.float64), 0.0, None)
    np.fill_diagonal(weights, 0.0)
    totals = weights.sum(axis=1, keepdims=True)
    transition = np.where(totals > 0, weights / np.where(totals > 0, totals, 1.0), 1.0 / n)
    rank = np.full(n, 1.0 / n)
    for _ in range(100):
        updated = (1 - damping) / n + damping * (transition.T @ rank)
        if np.abs(updated - rank).sum() < 1e-9:
            return [float(r) for r in updated]
        rank = updated
    return [float(r) for r in rank]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


RUNNERS: dict[str, Callable[[Models, Sequence[Row]], list[Figures]]] = {
    "zero-shot": zero_shot,
    "sentiment": sentiment,
    "ner": ner,
    "summarization": summarization,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=TASKS, action="append", help="default: every task")
    parser.add_argument("--split", choices=("tune", "test"), action="append")
    args = parser.parse_args(argv)
    models = Models()
    print(f"{'task':<14} {'split':<5} {'n':>4} {'method':<9} {'figures':<44} {'ms/call':>8}")
    for task in args.task or TASKS:
        rows = load(task)
        for half in args.split or ("tune", "test"):
            part = split(rows, half)
            for fig in RUNNERS[task](models, part):
                shown = "  ".join(f"{k} {100 * v:5.1f}%" for k, v in fig.values.items())
                ms = 1000 * fig.seconds_per_call
                print(f"{task:<14} {half:<5} {len(part):>4} {fig.name:<9} {shown:<44} {ms:8.1f}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
