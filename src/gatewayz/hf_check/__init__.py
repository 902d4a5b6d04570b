"""``gatewayz hf check``: Hugging Face's conformance probes, replayed against a gateway.

Hugging Face tests every mapped model through its own clients: the call must succeed, the
client must parse the answer into the task's shape, chat and text generation must stream
a first token within 5 s (other tasks answer within 30 s), every answer must carry an
``Inference-Id`` header, and chat models must call tools and follow a JSON schema. This
package makes the same calls through ``huggingface_hub.InferenceClient`` (one small probe
class per task, in ``registry.TASK_PROBES``) and, when Node.js and the library are there,
through ``@huggingface/inference`` (``js_client`` runs ``js/probe.mjs``); ``runner``
records each model's result in the gateway's registry, where it gates going live.
"""
