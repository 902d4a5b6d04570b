"""``gatewayz hf provider-kit``: everything the pull requests that list a provider on
Hugging Face need, generated from the registry.

- ``identity``: the provider's name, base URL... checked before they reach any file;
- ``offer``: the registry's models, tasks and prices that go in the kit;
- ``python_kit``, ``js_kit``, ``docs_kit``: the huggingface_hub, huggingface.js and
  hub-docs files (templates under ``templates/``, rendered by ``render``);
- ``logos``: the light and dark SVGs; ``kit``: all files and the checklist;
- ``writer``: writes them into the output directory and nowhere else.
"""
