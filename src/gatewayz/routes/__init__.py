"""All HTTP routes, gathered in one list: the hot OpenAI routes first (routes are matched in
order), and fixed paths before the ``/hf/tasks/{task}`` and ``/models/{id}`` patterns."""

from gatewayz.routes import (
    anthropic,
    billing,
    dashboard,
    dashboard_api,
    hf_tasks,
    hf_text,
    models,
    openai,
    openai_tasks,
    ops,
    reference,
    responses,
    routing,
)

ROUTES = [
    *openai.ROUTES,
    *openai_tasks.ROUTES,
    *responses.ROUTES,
    *anthropic.ROUTES,
    *billing.ROUTES,
    *hf_text.ROUTES,
    *routing.ROUTES,
    *models.ROUTES,
    *ops.ROUTES,
    *dashboard.ROUTES,
    *dashboard_api.ROUTES,
    *reference.ROUTES,
    *hf_tasks.ROUTES,
]
