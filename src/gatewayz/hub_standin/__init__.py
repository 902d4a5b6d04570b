"""A stand-in for huggingface.co's partner Model Mapping API, to rehearse ``hf sync`` offline.

``gatewayz hf stand-in --port P [--state FILE]`` serves it; ``hf sync --hub-url
http://127.0.0.1:P`` (or ``HF_ENDPOINT``) then talks to it instead of the Hub. The test
suite uses the same server (``HubStandin``), with controls to inject failures.
"""

from gatewayz.hub_standin.server import HubStandin
from gatewayz.hub_standin.state import HUB_MODELS, LIST_KEY, HubModel, HubState

__all__ = ["HUB_MODELS", "LIST_KEY", "HubModel", "HubStandin", "HubState"]
