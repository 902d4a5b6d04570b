"""The ``huggingface/hub-docs`` pull request: the provider page's template (the repository
generates ``docs/inference-providers/providers/NAME.md`` from it), the provider's URL in
the generation script, the table of contents and the partners table."""

from __future__ import annotations

import re

from gatewayz.config import Pricing
from gatewayz.provider_kit.edits import Edit
from gatewayz.provider_kit.identity import Identity
from gatewayz.provider_kit.offer import Offer, OfferedModel, usd
from gatewayz.provider_kit.render import code_string, md, render
from gatewayz.provider_kit.task_names import TASK_NAMES

TEMPLATES = "scripts/inference-providers/templates/providers"
# A Hub repository id with nothing Markdown could read as markup (intra-word '_' is not).
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")
# The columns of the partners table in docs/inference-providers/index.md.
_INDEX_COLUMNS = (
    ("conversational",),
    (),  # chat completion (VLM): the gateway does not take images
    ("feature-extraction",),
    ("text-to-image",),
    (),  # text to video
    (),  # speech to text
)


def page_path(who: Identity) -> str:
    return f"{TEMPLATES}/{who.name}.handlebars"


def _other_prices(pricing: Pricing) -> str:
    parts = []
    if pricing.per_image_usd:
        parts.append(f"${usd(pricing.per_image_usd)} per image")
    if pricing.per_request_usd:
        parts.append(f"${usd(pricing.per_request_usd)} per request")
    if pricing.per_1k_chars_usd:
        parts.append(f"${usd(pricing.per_1k_chars_usd)} per 1,000 characters")
    return ", ".join(parts) or "-"


def _model_cell(hub_id: str) -> str:
    """A link to the model's Hub page when the id is a plain Hub id, else the id as text."""
    if _HUB_ID.match(hub_id):
        return f"[{hub_id}](https://huggingface.co/{hub_id})"
    return md(hub_id)


def _row(model: OfferedModel) -> str:
    p = model.pricing
    cells = [
        _model_cell(model.hub_id),
        TASK_NAMES[model.task].title,
        f"${usd(p.input_per_million_usd)}",
        f"${usd(p.output_per_million_usd)}",
        _other_prices(p),
        f"{model.context_length:,}",
    ]
    return "| " + " | ".join(cells) + " |"


def page(who: Identity, offer: Offer) -> str:
    return render(
        "hub_docs_page.handlebars.tmpl",
        display=md(who.display),
        name=who.name,  # checked to be [a-z0-9-]
        rows="\n".join(_row(m) for m in offer.models),
        billing_url=md(f"{who.base_url}/v1/billing/requests"),
        models_url=md(f"{who.base_url}/v1/models"),
        website=md(who.website),
        website_href=md(who.website),
    )


def edits(who: Identity, offer: Offer) -> list[Edit]:
    marks = ["✅" if any(t in offer.tasks for t in column) else "" for column in _INDEX_COLUMNS]
    return [
        Edit(
            "scripts/inference-providers/scripts/generate.ts",
            "in PROVIDERS_URLS, in alphabetical order",
            f"  {code_string(who.name)}: {code_string(who.website)},",
            anchor=r"^const PROVIDERS_URLS: Record<string, string> = \{$",
        ),
        Edit(
            "docs/inference-providers/_toctree.yml",
            "in the providers section, in alphabetical order",
            f"  - local: providers/{who.name}\n    title: {code_string(who.display)}",
        ),
        Edit(
            "docs/inference-providers/index.md",
            "in the partners table, in alphabetical order",
            f"| [{md(who.display)}](./providers/{who.name}) | " + " | ".join(marks) + " |",
        ),
    ]
