"""The models the gateway serves, looked up by public id or Hub id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gatewayz.config import ModelConfig
from gatewayz.errors import (
    InvalidRequest,
    ModelNotFound,
    ModelRequired,
    ModelUnavailable,
    TaskNotSupported,
)
from gatewayz.tasks import Task


class Catalog:
    """``unusable`` names models that are listed but must not be called, and why."""

    def __init__(
        self,
        models: Iterable[ModelConfig],
        defaults: Mapping[Task, str] | None = None,
        unusable: Mapping[str, str] | None = None,
    ) -> None:
        self._models = tuple(models)
        # The model answering a request that names none, per task (``default_models``).
        self._defaults: dict[str, str] = {task: m for task, m in (defaults or {}).items()}
        self._unusable = dict(unusable or {})
        self._by_id: dict[str, ModelConfig] = {}
        for model in self._models:
            self._by_id.setdefault(model.hub_model_id, model)
        for model in self._models:  # a public id wins over another model's Hub id
            self._by_id[model.id] = model

    def all(self) -> tuple[ModelConfig, ...]:
        return self._models

    def live(self) -> list[ModelConfig]:
        return [m for m in self._models if m.status == "live" and m.id not in self._unusable]

    def get(self, model_id: str) -> ModelConfig:
        model = self._by_id.get(model_id)
        if model is None:
            raise ModelNotFound(f"model {model_id!r} does not exist; GET /v1/models lists them")
        return model

    def lookup(self, model_id: str) -> tuple[ModelConfig, str | None]:
        """The model ``model_id`` names and the routing suffix it carries: the whole id
        first (ids may contain ``:``), else ``<model>:<suffix>`` (a policy or a provider,
        checked by ``routing.health.RouteHealth.policy``)."""
        model = self._by_id.get(model_id)
        if model is not None:
            return model, None
        base, sep, suffix = model_id.rpartition(":")
        if sep and base in self._by_id:
            return self._by_id[base], suffix
        return self.get(model_id), None

    def resolve(self, model_id: object, task: str) -> ModelConfig:
        return self.resolve_routed(model_id, task)[0]

    def resolve_routed(self, model_id: object, task: str) -> tuple[ModelConfig, str | None]:
        """The model to call for ``task`` and its routing suffix: the one named,
        or the task's configured default (``default_models``); with neither, the caller
        must name one."""
        if model_id is None:
            model_id = self._defaults.get(task)
            if model_id is None:
                raise ModelRequired(
                    f"no default model is configured for the task {task!r}: pass 'model' "
                    "(GET /v1/models lists the models)"
                )
        if not isinstance(model_id, str) or not model_id:
            raise InvalidRequest("'model' must be a non-empty string")
        model, suffix = self.lookup(model_id)
        problem = self._unusable.get(model.id)
        if problem is not None:
            raise ModelUnavailable(
                f"model {model.id!r} cannot be served: {problem}; an admin must correct it"
            )
        if task not in model.serves:
            raise TaskNotSupported(
                f"model {model.id!r} serves {', '.join(sorted(model.serves))}, not {task!r}"
            )
        return model, suffix
