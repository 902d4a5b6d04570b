"""What the provider offers, read from the registry: the models it maps on the Hub, the
tasks they serve and their prices.

The kit describes what Hugging Face's users will be able to call: live entries whose last
conformance check (``gatewayz hf check``) passed and is current, as ``hf sync`` pushes them.
A live entry without one is pushed as staging by ``hf sync``, so it is left out (or, with
staging entries asked for, offered as staging) unless ``include_unchecked``. Entries marked
``local_only`` (served by the gateway, never pushed to the Hub), staging entries unless asked
for, and LoRA tag filters are left out too; each left-out entry is kept with the reason, for
the checklist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
class LeftOut:
    provider_id: str
    hub_id: str
    task: str
    reason: str


@dataclass(frozen=True, slots=True)
class Offer:
    models: tuple[OfferedModel, ...]
    left_out: tuple[LeftOut, ...] = ()

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


def _left_out_because(
    model: ModelConfig,
    unverified: Mapping[str, str],
    include_staging: bool,
    include_unchecked: bool,
) -> tuple[str | None, str]:
    """Why ``model`` stays out of the kit (None: it goes in), and the status it goes in with."""
    if model.local_only:
        return "local-only: served by the gateway, never pushed to the Hub", model.status
    if model.adapter_type is not None:
        # LoRA tag filters have no single Hub model to document or test.
        return "a LoRA tag filter: no single Hub model to document or test", model.status
    if model.status != "live":
        if include_staging:
            return None, model.status
        return f"{model.status}: pass --include-staging to offer staging models", model.status
    why = unverified.get(model.id)
    if why is None or include_unchecked:
        return None, model.status
    if include_staging:  # hf sync pushes it as staging until a check passes
        return None, "staging"
    return f"live, but not on the Hub as live: {why} (or pass --include-unchecked)", model.status


def offer_of(
    models: Iterable[ModelConfig],
    *,
    include_staging: bool = False,
    unverified: Mapping[str, str] | None = None,
    include_unchecked: bool = False,
) -> Offer:
    """The kit's models. ``unverified``: live model id -> why it has no current passing
    check (``Registry.not_verified``); None when checks are not considered."""
    chosen = []
    left_out = []
    for model in models:
        why, status = _left_out_because(model, unverified or {}, include_staging, include_unchecked)
        if why is not None:
            left_out.append(LeftOut(model.id, model.hub_model_id, model.task, why))
            continue
        chosen.append(
            OfferedModel(
                hub_id=model.hub_model_id,
                provider_id=model.id,
                task=model.task,
                serves=tuple(t for t in ALL_TASKS if t in model.serves),
                status=status,
                context_length=model.context_length,
                pricing=model.pricing,
            )
        )
    if not chosen:
        what = "live or staging" if include_staging else "live"
        reasons = "".join(f"\n  {m.provider_id}: {m.reason}" for m in left_out)
        raise ConfigError(
            f"the registry has no {what} model to put in the kit (local-only entries are "
            "left out, and live ones need a current passing 'gatewayz hf check'); map one "
            "with 'gatewayz models map' first"
            + ("" if include_staging else ", or pass --include-staging")
            + (f"; left out:{reasons}" if reasons else "")
        )
    chosen.sort(key=lambda m: (ALL_TASKS.index(m.task), m.hub_id, m.provider_id))
    left_out.sort(key=lambda m: m.provider_id)
    return Offer(tuple(chosen), tuple(left_out))


def usd(price: Decimal) -> str:
    """A price as written in the docs: ``0.50`` stays ``0.50``, never ``5E-1``."""
    return format(price, "f")
