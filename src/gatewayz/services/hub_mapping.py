"""Registry entries as Hugging Face's partner Model Mapping API sees them.

The Hub lists a provider's mappings grouped by task, then by Hub model id (or, for a LoRA
tag filter, by ``tag-filter=<tags>``), each ``{_id, providerId, status}``. One registry
entry is one mapping: its primary task, its Hub id, the gateway model id as
``providerModel``. An entry with ``adapter_type: lora`` becomes a tag filter that maps
every LoRA of its base model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gatewayz.config import ModelConfig

MappingKey = tuple[str, str]  # (task, Hub model id or tag-filter key)
TAG_FILTER_PREFIX = "tag-filter="


def pipeline_fits(task: str, pipeline_tag: str | None, tags: Iterable[str] = ()) -> bool:
    """Whether the Hub accepts a mapping of ``task`` onto a model with this pipeline tag:
    the same task; ``conversational`` for a ``text-generation`` or ``image-text-to-text``
    model tagged ``conversational``; ``feature-extraction`` for a ``sentence-similarity``
    model tagged ``feature-extraction`` (sentence-transformers models are)."""
    if pipeline_tag == task:
        return True
    tags = set(tags)
    if task == "conversational":
        return pipeline_tag in ("text-generation", "image-text-to-text") and task in tags
    if task == "feature-extraction":
        return pipeline_tag == "sentence-similarity" and task in tags
    return False


def lora_tags(base_model: str) -> tuple[str, ...]:
    """The tags every LoRA of ``base_model`` carries on the Hub."""
    return tuple(sorted((f"base_model:adapter:{base_model}", "lora")))


def tag_filter_key(tags: Iterable[str]) -> str:
    return TAG_FILTER_PREFIX + ",".join(sorted(tags))


@dataclass(frozen=True, slots=True)
class HubMapping:
    task: str
    key: str
    provider_model: str
    status: str
    tags: tuple[str, ...] = ()
    adapter_type: str | None = None
    mapping_id: str | None = None  # the Hub's ``_id``; only known for mappings read back

    @property
    def ident(self) -> MappingKey:
        return (self.task, self.key)

    @property
    def is_tag_filter(self) -> bool:
        return bool(self.tags)

    def create_body(self) -> dict[str, Any]:
        """The body of ``POST /api/partners/{provider}/models``."""
        if self.is_tag_filter:
            return {
                "type": "tag-filter",
                "task": self.task,
                "tags": list(self.tags),
                "providerModel": self.provider_model,
                "adapterType": self.adapter_type,
                "status": self.status,
            }
        return {
            "task": self.task,
            "hfModel": self.key,
            "providerModel": self.provider_model,
            "status": self.status,
        }

    def listing(self) -> dict[str, Any]:
        """One item of the Hub's grouped listing (without ``_id``, which the Hub assigns)."""
        item: dict[str, Any] = {"providerId": self.provider_model, "status": self.status}
        if self.is_tag_filter:
            item["adapterType"] = self.adapter_type
            item["tags"] = list(self.tags)
        return item


def mapping_of(model: ModelConfig) -> HubMapping:
    if model.adapter_type == "lora" and model.base_model:
        tags = lora_tags(model.base_model)
        return HubMapping(
            model.task, tag_filter_key(tags), model.id, model.status, tags, model.adapter_type
        )
    return HubMapping(model.task, model.hub_model_id, model.id, model.status)


def desired_mappings(
    models: Iterable[ModelConfig],
) -> tuple[dict[MappingKey, HubMapping], list[str]]:
    """The mappings the registry asks for (local-only entries are never pushed), and a
    note for each entry that cannot be one because an earlier entry (by id) already claims
    the same task and Hub model."""
    wanted: dict[MappingKey, HubMapping] = {}
    conflicts: list[str] = []
    for model in sorted(models, key=lambda m: m.id):
        if model.local_only:
            continue
        mapping = mapping_of(model)
        other = wanted.get(mapping.ident)
        if other is not None:
            conflicts.append(
                f"{model.id}: {mapping.task} {mapping.key} is already mapped to "
                f"{other.provider_model}; the Hub holds one mapping per task and model"
            )
            continue
        wanted[mapping.ident] = mapping
    return wanted, conflicts


def grouped(mappings: Iterable[HubMapping]) -> dict[str, dict[str, dict[str, Any]]]:
    """Mappings in the Hub's listing shape: task -> Hub id -> item."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for m in sorted(mappings, key=lambda m: m.ident):
        item = m.listing()
        if m.mapping_id is not None:
            item = {"_id": m.mapping_id, **item}
        out.setdefault(m.task, {})[m.key] = item
    return out


def parse_listing(doc: object) -> dict[MappingKey, HubMapping]:
    """Read ``GET /api/partners/{provider}/models``; ``ValueError`` on an unknown shape."""
    if not isinstance(doc, dict):
        raise ValueError("the Hub's mapping list is not a JSON object")
    out: dict[MappingKey, HubMapping] = {}
    for task, items in doc.items():
        if not isinstance(items, dict):
            raise ValueError(f"the Hub's mappings for {task!r} are not an object")
        for key, item in items.items():
            if not isinstance(item, dict) or not isinstance(item.get("providerId"), str):
                raise ValueError(f"the Hub's mapping {task} {key} has no providerId")
            tags = item.get("tags") or ()
            out[(task, key)] = HubMapping(
                task=task,
                key=key,
                provider_model=item["providerId"],
                status=str(item.get("status", "staging")),
                tags=tuple(sorted(str(t) for t in tags)),
                adapter_type=item.get("adapterType"),
                mapping_id=str(item["_id"]) if item.get("_id") is not None else None,
            )
    return out
