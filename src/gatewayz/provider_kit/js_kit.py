"""The ``huggingface/huggingface.js`` pull request: ``packages/inference/src/providers/NAME.ts``,
its entries in ``getProviderHelper.ts``, ``consts.ts`` and ``types.ts``, a test file and the
README lines.

Each task is a small class implementing the library's capability interface for it
(``TextClassificationTaskHelper``...), checking the answer's shape as the hf-inference
helpers do; chat is the library's ``BaseConversationalTask`` with the provider's URL.
"""

from __future__ import annotations

import json

from gatewayz.provider_kit.edits import Edit
from gatewayz.provider_kit.identity import Identity
from gatewayz.provider_kit.offer import CHAT_TASKS, Offer
from gatewayz.provider_kit.render import code_string, render
from gatewayz.provider_kit.task_names import CALLS, TASK_NAMES

PACKAGE = "packages/inference"


def provider_path(who: Identity) -> str:
    return f"{PACKAGE}/src/providers/{who.name}.ts"


def test_path(who: Identity) -> str:
    return f"{PACKAGE}/test/{who.name}.spec.ts"


def class_name(who: Identity, task: str) -> str:
    return f"{who.class_prefix}{TASK_NAMES[task].class_name}Task"


def _import(names: list[str], source: str, *, types: bool = False) -> str:
    if not names:
        return ""
    keyword = "import type" if types else "import"
    if len(names) <= 2:
        return f'{keyword} {{ {", ".join(names)} }} from "{source}";\n'
    return f"{keyword} {{\n" + "".join(f"\t{n},\n" for n in names) + f'}} from "{source}";\n'


def provider_file(who: Identity, offer: Offer) -> str:
    tasks = offer.tasks
    hf_tasks = [t for t in tasks if t not in CHAT_TASKS]
    outputs = sorted(o for t in hf_tasks if (o := TASK_NAMES[t].js_output) is not None)
    helpers = sorted(h for t in hf_tasks if (h := TASK_NAMES[t].js_helper) is not None)
    image = "text-to-image" in hf_tasks
    errors = [
        *(["InferenceClientInputError"] if image else []),
        *(["InferenceClientProviderOutputError"] if hf_tasks else []),
    ]
    types = [
        *(["BodyParams", "InferenceTask"] if hf_tasks else []),
        *(["OutputType"] if image else []),
    ]
    bases = [
        *(["BaseConversationalTask"] if "conversational" in tasks else []),
        *(["TaskProviderHelper"] if hf_tasks else []),
    ]
    imports = "".join(
        [
            _import(outputs, "@huggingface/tasks", types=True),
            _import(errors, "../errors.js"),
            _import(types, "../types.js", types=True),
            _import(["dataUrlFromBlob"] if image else [], "../utils/dataUrlFromBlob.js"),
            _import(["omit"] if hf_tasks else [], "../utils/omit.js"),
            _import(helpers, "./providerHelper.js", types=True),
            _import(bases, "./providerHelper.js"),
        ]
    ).rstrip("\n")
    values = {"prefix": who.class_prefix, "name": code_string(who.name)}
    parts = [
        render(
            "js_head.ts.tmpl",
            imports=imports,
            constant=who.js_constant,
            base_url=code_string(who.base_url),
            name=who.name,  # checked to be [a-z0-9-]: safe in a comment
        )
    ]
    if "conversational" in tasks:
        parts.append(render("js_chat.ts.tmpl", constant=who.js_constant, **values))
    if hf_tasks:
        parts.append(render("js_task_base.ts.tmpl", constant=who.js_constant, **values))
    for task in hf_tasks:
        parts.append(render(f"js/{task}.ts.tmpl", prefix=who.class_prefix))
    return "".join(parts)


def registry_edits(who: Identity, offer: Offer) -> list[Edit]:
    name = code_string(who.name)
    module = who.class_prefix
    entries = "".join(
        f"\t\t{code_string(t)}: new {module}.{class_name(who, t)}(),\n" for t in offer.tasks
    )
    return [
        Edit(
            f"{PACKAGE}/src/lib/getProviderHelper.ts",
            "with the other provider imports, in alphabetical order",
            f'import * as {module} from "../providers/{who.name}.js";',
            anchor=r'^import \* as \w+ from "\.\./providers/[\w-]+\.js";$',
            position="before",
        ),
        Edit(
            f"{PACKAGE}/src/lib/getProviderHelper.ts",
            "in PROVIDERS, in alphabetical order",
            f"\t{name}: {{\n{entries}\t}},",
            anchor=r"^export const PROVIDERS: Record<InferenceProvider, .*= \{$",
        ),
        Edit(
            f"{PACKAGE}/src/providers/consts.ts",
            "in HARDCODED_MODEL_INFERENCE_MAPPING, in alphabetical order",
            f"\t{name}: {{}},",
            anchor=r"^\};$",
            position="before",
        ),
        Edit(
            f"{PACKAGE}/src/types.ts",
            "in INFERENCE_PROVIDERS, in alphabetical order",
            f"\t{name},",
            anchor=r"^export const INFERENCE_PROVIDERS = \[$",
        ),
        Edit(
            f"{PACKAGE}/src/types.ts",
            "in PROVIDERS_HUB_ORGS, in alphabetical order",
            f"\t{name}: {code_string(who.hub_org)},",
            anchor=r"^export const PROVIDERS_HUB_ORGS: Record<InferenceProvider, string> = \{$",
        ),
        Edit(
            f"{PACKAGE}/README.md",
            "in the list of supported providers, in alphabetical order",
            f"- [{who.display}]({who.website})",
        ),
        Edit(
            f"{PACKAGE}/README.md",
            "in the list of links to each provider's supported models, in alphabetical order",
            f"- [{who.display} supported models]"
            f"(https://huggingface.co/api/partners/{who.name}/models)",
        ),
    ]


def tests(who: Identity, offer: Offer) -> str:
    """A vitest file in the style of test/InferenceClient.spec.ts: every task through the
    client, with HARDCODED_MODEL_INFERENCE_MAPPING standing in for the Hub's mappings.
    Needs HF_{NAME}_KEY to call the provider; without it the calls fail with 401."""
    key_env = "HF_" + who.name.upper().replace("-", "_") + "_KEY"
    name = code_string(who.name)
    out = [
        'import { describe, expect, it } from "vitest";',
        "",
        'import { InferenceClient } from "../src/index.js";',
        'import { HARDCODED_MODEL_INFERENCE_MAPPING } from "../src/providers/consts.js";',
        "",
        "const TIMEOUT = 60000 * 3;",
        "const env = import.meta.env;",
        "",
        "describe(",
        f"\t{code_string(who.display)},",
        "\t() => {",
        f'\t\tconst client = new InferenceClient(env.{key_env} ?? "dummy");',
        "",
    ]
    for task in offer.tasks:
        example = offer.example(task)
        call = CALLS[task]
        args = {"model": example.hub_id, "provider": who.name, **call.js_args}
        mapping = {
            "provider": who.name,
            "hfModelId": example.hub_id,
            "providerId": example.provider_id,
            "status": "live",
            "task": task,
        }
        out += [
            f"\t\tit({code_string(call.js_method)}, async () => {{",
            f"\t\t\tHARDCODED_MODEL_INFERENCE_MAPPING[{name}] = {{",
            f"\t\t\t\t{code_string(example.hub_id)}: {_js(mapping)},",
            "\t\t\t};",
            f"\t\t\tconst res = await client.{call.js_method}({_js(args)});",
            "\t\t\texpect(res).toBeTruthy();",
            "\t\t});",
            "",
        ]
    out[-1:] = ["\t},", "\tTIMEOUT,", ");", ""]
    return "\n".join(out)


def _js(value: object) -> str:
    """A JSON value as a TypeScript expression; strings escaped as ``code_string`` does."""
    return json.dumps(value, ensure_ascii=True).replace("<", "\\u003c").replace(">", "\\u003e")
