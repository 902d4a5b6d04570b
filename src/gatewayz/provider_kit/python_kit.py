"""The ``huggingface/huggingface_hub`` pull request: the helper module, its registry
entries, the ``InferenceClient`` docstring line and tests.

The helper follows the library's own pattern (``_providers/_common.py``): chat is a
``BaseConversationalTask`` subclass of three lines; every other task is a one-line subclass
of one small ``TaskProviderHelper`` that posts the Hugging Face task format to
``/hf/tasks/{task}``.
"""

from __future__ import annotations

from gatewayz.provider_kit.edits import Edit
from gatewayz.provider_kit.identity import Identity
from gatewayz.provider_kit.offer import CHAT_TASKS, Offer
from gatewayz.provider_kit.render import code_string, render
from gatewayz.provider_kit.task_names import CALLS, TASK_NAMES

PROVIDERS_DIR = "src/huggingface_hub/inference/_providers"
# Tasks whose class does more than name its task (the client leaves decoding to it).
OWN_TEMPLATES = ("python/feature-extraction.py.tmpl",)


def module_path(who: Identity) -> str:
    return f"{PROVIDERS_DIR}/{who.python_module}.py"


def class_name(who: Identity, task: str) -> str:
    return f"{who.class_prefix}{TASK_NAMES[task].class_name}Task"


def helper_module(who: Identity, offer: Offer) -> str:
    tasks = offer.tasks
    hf_tasks = [t for t in tasks if t not in CHAT_TASKS]
    imports = []
    if hf_tasks:
        imports += [
            "from typing import Any",
            "",
            "from huggingface_hub.hf_api import InferenceProviderMapping",
        ]
    if "feature-extraction" in hf_tasks:
        imports.append(
            "from huggingface_hub.inference._common import RequestParameters, _bytes_to_dict"
        )
    common = [
        *(["BaseConversationalTask"] if "conversational" in tasks else []),
        *(["TaskProviderHelper", "filter_none"] if hf_tasks else []),
    ]
    imports.append(
        "from huggingface_hub.inference._providers._common import (\n"
        + "".join(f"    {name},\n" for name in common)
        + ")"
    )
    parts = [
        render(
            "hub_module_head.py.tmpl",
            imports="\n".join(imports),
            name=code_string(who.name),
            base_url=code_string(who.base_url),
        )
    ]
    if "conversational" in tasks:
        parts.append(render("hub_module_chat.py.tmpl", prefix=who.class_prefix))
    if hf_tasks:
        parts.append(render("hub_module_task_base.py.tmpl", prefix=who.class_prefix))
    for task in hf_tasks:
        own = f"python/{task}.py.tmpl"
        if own in OWN_TEMPLATES:
            parts.append(render(own, prefix=who.class_prefix))
            continue
        parts.append(
            render(
                "hub_module_task.py.tmpl",
                prefix=who.class_prefix,
                task_class=TASK_NAMES[task].class_name,
                task=code_string(task),
            )
        )
    return "".join(parts)


def registry_edits(who: Identity, offer: Offer) -> list[Edit]:
    name = code_string(who.name)
    classes = [class_name(who, t) for t in offer.tasks]
    init = f"{PROVIDERS_DIR}/__init__.py"
    entries = "".join(f"        {code_string(t)}: {class_name(who, t)}(),\n" for t in offer.tasks)
    return [
        Edit(
            init,
            "with the other provider imports, in alphabetical order",
            f"from .{who.python_module} import (\n" + "".join(f"    {c},\n" for c in classes) + ")",
            anchor=r"^logger = logging\.get_logger\(__name__\)$",
            position="before",
        ),
        Edit(
            init,
            "in PROVIDER_T, in alphabetical order",
            f"    {name},",
            anchor=r"^PROVIDER_T = Literal\[$",
        ),
        Edit(
            init,
            "in PROVIDERS, in alphabetical order",
            f"    {name}: {{\n{entries}    }},",
            anchor=r"^PROVIDERS: .*= \{$",
        ),
        Edit(
            f"{PROVIDERS_DIR}/_common.py",
            "in HARDCODED_MODEL_INFERENCE_MAPPING, in alphabetical order",
            f"    {name}: {{}},",
            anchor=r"^HARDCODED_MODEL_INFERENCE_MAPPING\b.*= \{$",
        ),
        Edit(
            "src/huggingface_hub/inference/_client.py",
            "in the docstring of InferenceClient.__init__, add the name to the list of "
            "providers in the description of `provider`, in alphabetical order; then run "
            "`make style`, which regenerates _async_client.py from it",
            f"`{name}`",
        ),
    ]


def tests(who: Identity, offer: Offer) -> str:
    """Static tests for tests/test_inference_providers.py: the routes and payloads."""
    lines = [
        "from huggingface_hub.hf_api import InferenceProviderMapping",
        f"from huggingface_hub.inference._providers.{who.python_module} import (",
        *(f"    {class_name(who, t)}," for t in offer.tasks),
        ")",
        "",
        "",
        f"class Test{who.class_prefix}Provider:",
    ]

    def base(route: str) -> str:
        return code_string(who.base_url + route)

    def router(route: str) -> str:
        return code_string(f"https://router.huggingface.co/{who.name}{route}")

    for task in offer.tasks:
        example = offer.example(task)
        cls = class_name(who, task)
        method = task.replace("-", "_")
        route = "/v1/chat/completions" if task in CHAT_TASKS else f"/hf/tasks/{task}"
        mapping = (
            "InferenceProviderMapping(\n"
            f"            provider={code_string(who.name)},\n"
            f"            hf_model_id={code_string(example.hub_id)},\n"
            f"            providerId={code_string(example.provider_id)},\n"
            f"            task={code_string(task)},\n"
            '            status="live",\n'
            "        )"
        )
        inputs = _python_inputs(task)
        expected = (
            f'{{"model": {code_string(example.provider_id)}, "messages": {inputs}, '
            '"max_tokens": 8}'
            if task in CHAT_TASKS
            else f'{{"model": {code_string(example.provider_id)}, "inputs": {inputs}, '
            '"parameters": {"top_k": 2}}'
        )
        params = (
            '{"max_tokens": 8, "model": "ignored"}'
            if task in CHAT_TASKS
            else ('{"top_k": 2, "truncation": None}')
        )
        lines += [
            f"    def test_{method}_route(self):",
            f"        helper = {cls}()",
            f'        assert helper._prepare_url("my-key", "any-model") == {base(route)}',
            f'        assert helper._prepare_url("hf_token", "any-model") == {router(route)}',
            "",
            f"    def test_{method}_payload(self):",
            f"        helper = {cls}()",
            f"        mapping = {mapping}",
            f"        payload = helper._prepare_payload_as_dict(\n"
            f"            {inputs}, {params}, mapping\n"
            "        )",
            f"        assert payload == {expected}",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _python_inputs(task: str) -> str:
    call = CALLS[task]
    if task in CHAT_TASKS:
        return repr(call.python_kwargs["messages"]).replace("'", '"')
    return code_string("Hello, world.")
