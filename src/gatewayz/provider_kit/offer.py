"""What the provider offers, read from the registry: the models it maps on the Hub, the
tasks they serve and their prices.

Entries marked ``local_only`` (served by the gateway, never pushed to the Hub) are left
out, and so are staging entries unless asked for: the kit describes what Hugging Face's
users will be able to call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from gatewayz.config import ConfigError, ModelConfig, Pricing
from gatewayz.tasks import ALL_TASKS

# The tasks whose calls go to the OpenAI-compatible chat route; every other task takes
# the Hugging Face task format at /hf/tasks/{task}.
CHAT_TASKS = ("conversational",)


@dataclass(frozen=True, slots=True)
class OfferedModel:
    hub_id: str
    provider_id: str  # the gateway's model id: the mapping's providerModel
    task: str  # the task it is mapped for on the Hub
    serves: tuple[str, ...]  # every task the gateway answers for it, in ALL_TASKS order
    status: str
    context_length: int
    pricing: Pricing


@dataclass(frozen=True, slots=True)
class Offer:
    models: tuple[OfferedModel, ...]

    @property
    def tasks(self) -> tuple[str, ...]:
        """Every task some offered model serves, in ``ALL_TASKS`` order."""
        served = {task for m in self.models for task in m.serves}
        return tuple(t for t in ALL_TASKS if t in served)

    def example(self, task: str) -> OfferedModel:
        """The model the generated tests call for ``task``: one mapped for it if any,
        else one serving it."""
        mapped = [m for m in self.models if m.task == task]
        serving = [m for m in self.models if task in m.serves]
        return (mapped or serving)[0]


def offer_of(models: Iterable[ModelConfig], *, include_staging: bool = False) -> Offer:
    chosen = []
    for model in models:
        if getattr(model, "local_only", False):
            continue
        if model.status != "live" and not include_staging:
            continue
        if model.adapter_type is not None:
            continue  # LoRA tag filters have no single Hub model to document or test
        chosen.append(
            OfferedModel(
                hub_id=model.hub_model_id,
                provider_id=model.id,
                task=model.task,
                serves=tuple(t for t in ALL_TASKS if t in model.serves),
                status=model.status,
                context_length=model.context_length,
                pricing=model.pricing,
            )
        )
    if not chosen:
        what = "live or staging" if include_staging else "live"
        raise ConfigError(
            f"the registry has no {what} model to put in the kit (local-only entries are "
            "left out); map one with 'gatewayz models map' first"
            + ("" if include_staging else ", or pass --include-staging")
        )
    chosen.sort(key=lambda m: (ALL_TASKS.index(m.task), m.hub_id, m.provider_id))
    return Offer(tuple(chosen))


def usd(price: Decimal) -> str:
    """A price as written in the docs: ``0.50`` stays ``0.50``, never ``5E-1``."""
    return format(price, "f")
