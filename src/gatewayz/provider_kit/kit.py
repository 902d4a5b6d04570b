"""The whole kit: every file of the three pull requests, the logos, the checklist and
``kit.json``, as paths (relative to the output directory) and their contents."""

from __future__ import annotations

import json
from dataclasses import dataclass

from gatewayz.provider_kit import docs_kit, js_kit, python_kit
from gatewayz.provider_kit.edits import Edit, edits_markdown
from gatewayz.provider_kit.identity import Identity
from gatewayz.provider_kit.logos import wordmark
from gatewayz.provider_kit.offer import Offer, usd
from gatewayz.provider_kit.render import md, render

MANIFEST = "kit.json"
CHECKLIST = "CHECKLIST.md"
# One directory per repository, named after it.
HUB, JS, DOCS = "huggingface_hub", "huggingface.js", "hub-docs"


@dataclass(frozen=True, slots=True)
class Logos:
    light: bytes
    dark: bytes
    source: str  # "generated wordmark" or where they came from


def generated_logos(who: Identity) -> Logos:
    return Logos(
        wordmark(who.display, dark=False).encode(),
        wordmark(who.display, dark=True).encode(),
        "a generated wordmark: replace it with your own logo with --logo-light/--logo-dark",
    )


def build(
    who: Identity, offer: Offer, logos: Logos, database: str | None = None
) -> dict[str, bytes]:
    """Every file of the kit, by its path under the output directory. ``database``: where
    the registry was read (shown in the checklist), None when the models were given."""
    hub_edits = python_kit.registry_edits(who, offer)
    js_edits = js_kit.registry_edits(who, offer)
    docs_edits = docs_kit.edits(who, offer)
    files: dict[str, str | bytes] = {
        f"{HUB}/{python_kit.module_path(who)}": python_kit.helper_module(who, offer),
        f"{HUB}/tests/test_inference_providers.py": python_kit.tests(who, offer),
        f"{HUB}/EDITS.md": edits_markdown("Edits to huggingface_hub", hub_edits),
        f"{JS}/{js_kit.provider_path(who)}": js_kit.provider_file(who, offer),
        f"{JS}/{js_kit.test_path(who)}": js_kit.tests(who, offer),
        f"{JS}/EDITS.md": edits_markdown("Edits to huggingface.js", js_edits),
        f"{DOCS}/{docs_kit.page_path(who)}": docs_kit.page(who, offer),
        f"{DOCS}/EDITS.md": edits_markdown("Edits to hub-docs", docs_edits),
        f"logos/{who.name}-light.svg": logos.light,
        f"logos/{who.name}-dark.svg": logos.dark,
        CHECKLIST: checklist(who, offer, logos, hub_edits, js_edits, docs_edits, database),
    }
    files[MANIFEST] = manifest(who, offer, files, {HUB: hub_edits, JS: js_edits, DOCS: docs_edits})
    return {path: v if isinstance(v, bytes) else v.encode("utf-8") for path, v in files.items()}


def _left_out(offer: Offer) -> str:
    """The registry entries not in the kit, each with the reason."""
    if not offer.left_out:
        return "None: every registry entry is in the kit.\n"
    lines = [
        f"- {md(m.provider_id)} ({md(m.hub_id)}, {m.task}): {md(m.reason)}" for m in offer.left_out
    ]
    return "\n".join(lines) + "\n"


def _paths(edits: list[Edit]) -> str:
    return ", ".join(f"`{p}`" for p in dict.fromkeys(e.path for e in edits))


def checklist(
    who: Identity,
    offer: Offer,
    logos: Logos,
    hub_edits: list[Edit],
    js_edits: list[Edit],
    docs_edits: list[Edit],
    database: str | None = None,
) -> str:
    if database is None:
        source = "the models it was given (no database)"
    elif "`" in database or "\n" in database:
        source = f"the registry in the database {md(database)}"
    else:  # a code span: Markdown reads nothing inside it
        source = f"the registry in the database `{database}`"
    return render(
        "checklist.md.tmpl",
        name=who.name,
        source=source,
        left_out=_left_out(offer),
        base_url=md(who.base_url),
        model_count=str(len(offer.models)),
        tasks=", ".join(offer.tasks),
        js_provider=js_kit.provider_path(who),
        js_test=js_kit.test_path(who),
        js_key_env="HF_" + who.name.upper().replace("-", "_") + "_KEY",
        js_edit_files=_paths(js_edits),
        py_module=python_kit.module_path(who),
        py_edit_files=_paths(hub_edits),
        py_test_class=f"Test{who.class_prefix}Provider",
        docs_template=docs_kit.page_path(who),
        docs_edit_files=_paths(docs_edits),
        logo_source=md(logos.source),
        hub_org=who.hub_org,
        # In a code span, where Markdown reads nothing: the URL is checked to hold no '`'.
        billing_url=f"{who.base_url}/v1/billing/requests",
    )


def manifest(
    who: Identity,
    offer: Offer,
    files: dict[str, str | bytes],
    edits: dict[str, list[Edit]],
) -> str:
    """What the kit holds, for scripts: each file with its repository and destination."""
    destinations = []
    for path in sorted(files):
        repo, _, rest = path.partition("/")
        in_repo = repo in (HUB, JS, DOCS) and not rest.endswith("EDITS.md")
        destinations.append(
            {
                "file": path,
                "repository": f"huggingface/{repo}" if in_repo else None,
                "destination": rest if in_repo else None,
            }
        )
    body = {
        "provider": {
            "name": who.name,
            "display_name": who.display,
            "base_url": who.base_url,
            "website": who.website,
            "hub_org": who.hub_org,
            "billing_url": f"{who.base_url}/v1/billing/requests",
        },
        "tasks": list(offer.tasks),
        "models": [
            {
                "hub_model_id": m.hub_id,
                "provider_model_id": m.provider_id,
                "task": m.task,
                "serves": list(m.serves),
                "status": m.status,
                "context_length": m.context_length,
                "pricing": {
                    name: usd(getattr(m.pricing, name)) for name in type(m.pricing).model_fields
                },
            }
            for m in offer.models
        ],
        "examples": {
            task: {
                "hub_model_id": offer.example(task).hub_id,
                "provider_model_id": offer.example(task).provider_id,
            }
            for task in offer.tasks
        },
        "files": [*destinations, {"file": MANIFEST, "repository": None, "destination": None}],
        "edits": {
            f"huggingface/{repo}": [e.as_json() for e in repo_edits]
            for repo, repo_edits in edits.items()
        },
    }
    # < and > escaped as in the code files: no file of the kit holds a closing tag of a value.
    text = json.dumps(body, indent=2, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e") + "\n"
