"""All HTTP routes, gathered in one list (specific paths before patterns)."""

from gatewayz.routes import billing, hf_tasks, hf_text, models, openai, openai_tasks, ops

ROUTES = [
    *billing.ROUTES,
    *openai.ROUTES,
    *openai_tasks.ROUTES,
    *hf_text.ROUTES,
    *models.ROUTES,
    *ops.ROUTES,
    *hf_tasks.ROUTES,
]
