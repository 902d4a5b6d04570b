"""What every Hugging Face task has in common: a parsed request, a result, and a spec.

A ``TaskSpec`` validates one task's ``{"inputs": ..., "parameters": {...}}`` body and checks
an answer has that task's exact output shape (used on answers from HF-compatible upstreams
and on structured outputs from chat models). Each task is one small subclass in its own
module, listed in ``tasks.registry``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError, create_model

from gatewayz.errors import InvalidTaskInput, UpstreamBadResponse
from gatewayz.money import Usage
from gatewayz.schemas.validate import field_path

JSON = Any
# The longest structured answer a chat model may give for a task (so also the most output
# tokens a task request can be billed for).
STRUCTURED_MAX_TOKENS = 512


class Parameters(BaseModel):
    """Task parameters: known ones are type-checked, unknown ones are passed on."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True, slots=True)
class TaskRequest:
    task: str
    inputs: Any
    parameters: dict[str, Any]
    model: str | None = None
    stream: bool = False

    def param(self, name: str, default: Any = None) -> Any:
        value = self.parameters.get(name)
        return default if value is None else value


@dataclass(slots=True)
class TaskResult:
    """An answer in the task's HF shape (``output``), or raw image bytes (``image``)."""

    output: JSON = None
    image: bytes | None = None
    media_type: str = "application/json"
    usage: Usage = field(default_factory=Usage)


class TaskSpec:
    name: ClassVar[str]
    inputs_schema: ClassVar[Any] = str
    parameters_schema: ClassVar[type[Parameters]] = Parameters
    # Where feature-extraction style clients put options: at the body's top level.
    root_parameters: ClassVar[tuple[str, ...]] = ()
    # The type of the JSON answer (``tasks.outputs``); None: the answer is an image.
    output_schema: ClassVar[Any] = None

    def request_model(self) -> type[BaseModel]:
        """The whole body as one model, made of the schemas ``parse`` validates with (the
        API document's request schema for this task)."""
        model = _REQUEST_MODELS.get(self.name)
        if model is None:
            root = {
                name: (self.parameters_schema.model_fields[name].annotation, None)
                for name in self.root_parameters
            }
            model = _REQUEST_MODELS[self.name] = create_model(
                "".join(part.title() for part in self.name.split("-")) + "Request",
                __config__=ConfigDict(extra="allow"),
                inputs=(self.inputs_schema, ...),
                parameters=(self.parameters_schema | None, None),
                model=(StrictStr | None, None),
                **root,  # type: ignore[call-overload]
            )
        return model

    def parse(self, body: dict[str, Any], model: str | None = None) -> TaskRequest:
        if "inputs" not in body:
            raise InvalidTaskInput(f"{self.name}: the body needs 'inputs'")
        raw_params = body.get("parameters") or {}
        if not isinstance(raw_params, dict):
            raise InvalidTaskInput("parameters: must be an object")
        raw_params = {**{k: body[k] for k in self.root_parameters if k in body}, **raw_params}
        inputs = self._check(_inputs_model(self.inputs_schema), {"inputs": body["inputs"]}).inputs
        params = self._check(self.parameters_schema, raw_params, "parameters")
        self.validate(inputs, params)
        chosen = model or body.get("model") or raw_params.get("model")
        if chosen is not None and not isinstance(chosen, str):
            raise InvalidTaskInput("model: must be a string")
        parameters = {k: v for k, v in params.model_dump().items() if v is not None}
        parameters.pop("model", None)
        return TaskRequest(
            self.name, _plain(inputs), parameters, chosen, bool(body.get("stream", False))
        )

    def validate(self, inputs: Any, params: Any) -> None:
        """Checks across fields that a schema cannot express; raise InvalidTaskInput."""

    def check_output(self, output: JSON) -> JSON:
        """Return ``output`` if it has this task's HF shape, else raise."""
        return output

    @staticmethod
    def _check(schema: type[BaseModel], data: dict[str, Any], prefix: str = "") -> Any:
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = field_path(((prefix,) if prefix else ()) + tuple(err["loc"]))
            raise InvalidTaskInput(f"{where}: {err['msg']}") from None

    def bad_output(self, why: str) -> UpstreamBadResponse:
        return UpstreamBadResponse(f"the upstream's {self.name} answer is malformed: {why}")


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


_INPUT_MODELS: dict[Any, type[BaseModel]] = {}
_REQUEST_MODELS: dict[str, type[BaseModel]] = {}


def _inputs_model(schema: Any) -> type[BaseModel]:
    """A cached model with one field ``inputs: schema``, so errors name ``inputs...``."""
    model = _INPUT_MODELS.get(schema)
    if model is None:
        model = _INPUT_MODELS[schema] = create_model("Inputs", inputs=(schema, ...))
    return model


def is_label_scores(value: JSON) -> bool:
    return isinstance(value, list) and all(
        isinstance(x, dict) and isinstance(x.get("label"), str) and _is_score(x.get("score"))
        for x in value
    )


def _is_score(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def is_score(value: Any) -> bool:
    return _is_score(value)


def input_chars(inputs: Any) -> int:
    """Characters of text in a task's inputs (the unit of per-1,000-character prices)."""
    if isinstance(inputs, str):
        return len(inputs)
    if isinstance(inputs, dict):
        return sum(input_chars(v) for v in inputs.values())
    if isinstance(inputs, list):
        return sum(input_chars(v) for v in inputs)
    return 0
