"""The stand-in Hub's state: the Hub models it knows, and each provider's mappings.

Everything but the tokens (secrets stay in the process) can be saved to a JSON file after
each change and read back at start, so a rehearsal survives a restart.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LIST_KEY = "__list__"  # ``fail()`` key for the listing itself


@dataclass(frozen=True)
class HubModel:
    pipeline_tag: str
    tags: tuple[str, ...] = ()


# Real Hub models with their pipeline tags and the tags the checks read (as the Hub lists
# them); ``--model ID=TAG[,tag...]`` adds more.
HUB_MODELS: dict[str, HubModel] = {
    "HuggingFaceTB/SmolLM2-135M-Instruct": HubModel("text-generation", ("conversational",)),
    "HuggingFaceTB/SmolLM2-360M-Instruct": HubModel("text-generation", ("conversational",)),
    "HuggingFaceTB/SmolLM2-135M": HubModel("text-generation"),
    "meta-llama/Llama-3.1-8B-Instruct": HubModel("text-generation", ("conversational",)),
    "sentence-transformers/all-MiniLM-L6-v2": HubModel(
        "sentence-similarity", ("sentence-transformers", "feature-extraction")
    ),
    "spacy/en_core_web_sm": HubModel("token-classification", ("spacy",)),
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english": HubModel("text-classification"),
    "black-forest-labs/FLUX.1-dev": HubModel("text-to-image"),
}


@dataclass
class Mapping:
    id: str
    task: str
    key: str  # the Hub model id, or ``tag-filter=<tags>``
    provider_model: str
    status: str
    tags: tuple[str, ...] = ()
    adapter_type: str | None = None

    def listing(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "_id": self.id,
            "providerId": self.provider_model,
            "status": self.status,
        }
        if self.tags:
            item.update(adapterType=self.adapter_type, tags=list(self.tags))
        return item


@dataclass
class HubState:
    tokens: dict[str, set[str]] = field(default_factory=dict)  # token -> writable orgs
    providers: set[str] = field(default_factory=set)
    mappings: dict[str, dict[str, Mapping]] = field(default_factory=dict)
    models: dict[str, HubModel] = field(default_factory=lambda: dict(HUB_MODELS))
    next_id: int = 1
    failures: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    calls: list[tuple[str, str, int]] = field(default_factory=list)

    def new_id(self) -> str:
        mid = f"{self.next_id:024x}"
        self.next_id += 1
        return mid

    def add_provider(self, provider: str) -> None:
        self.providers.add(provider)
        self.mappings.setdefault(provider, {})

    def dump(self) -> dict[str, Any]:
        """What is saved: no tokens, no test controls."""
        return {
            "next_id": self.next_id,
            "providers": sorted(self.providers),
            "models": {k: asdict(m) for k, m in sorted(self.models.items())},
            "mappings": {
                p: [asdict(m) for m in ms.values()] for p, ms in sorted(self.mappings.items())
            },
        }

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.dump(), indent=2))
        os.replace(tmp, path)  # a reader never sees half a file

    @classmethod
    def load(cls, path: Path) -> HubState:
        doc = json.loads(path.read_text())
        state = cls(next_id=int(doc.get("next_id", 1)))
        state.models.update(
            {
                k: HubModel(v["pipeline_tag"], tuple(v.get("tags", ())))
                for k, v in doc["models"].items()
            }
        )
        for provider in doc.get("providers", ()):
            state.add_provider(provider)
        for provider, items in doc.get("mappings", {}).items():
            state.add_provider(provider)
            for item in items:
                m = Mapping(**{**item, "tags": tuple(item.get("tags", ()))})
                state.mappings[provider][m.id] = m
        return state
