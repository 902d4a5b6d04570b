"""All HTTP routes, gathered in one list."""

from gatewayz.routes import hf_text, openai, ops

ROUTES = [*openai.ROUTES, *hf_text.ROUTES, *ops.ROUTES]
