"""What a route declares about itself: the one source of the API document.

Every API route is a ``FamilyRoute`` carrying an ``Api``: the pydantic model its body is
validated with (the route validates through ``Api.validate``, so the document cannot say
one thing while the route checks another), the type of its success answer, its query
parameters, how it authenticates and whether it may stream. ``gatewayz.openapi`` builds
``GET /openapi.json`` from these declarations and the route's family (its error shape).

A route whose path holds ``{task}`` declares one ``Api`` per task (``ByTask``): the
document then lists one operation per task, each with that task's request and answer.

Pages that are not API (HTML) are routes with ``include_in_schema=False``, Starlette's own
flag: the document leaves them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from gatewayz.errors import InvalidRequest
from gatewayz.schemas.validate import validate

B = TypeVar("B", bound=BaseModel)

# How a route authenticates: an ``Authorization: Bearer`` key; that or ``x-api-key``
# (Anthropic's header); no key at all; or, for ``/metrics``, a key only if configured.
Auth = Literal["bearer", "bearer-or-x-api-key", "none", "optional-bearer"]


@dataclass(frozen=True)
class Api(Generic[B]):
    """One operation of the API document."""

    summary: str
    tag: str
    body: type[B] | None = None
    # The JSON answer of a success (a pydantic model or any type pydantic can describe);
    # None with ``media`` for a body that is not JSON.
    answer: Any = None
    media: str | None = None
    # Success statuses other than 200 (a mapping created: 201).
    created: bool = False
    # With ``"stream": true`` in the body, the answer is server-sent events.
    stream: bool = False
    query: type[BaseModel] | None = None
    auth: Auth = "bearer"
    description: str = ""

    def validate(
        self,
        data: dict[str, Any],
        error: type[InvalidRequest] = InvalidRequest,
        deepest: bool = False,
    ) -> B:
        """``data`` as this operation's body model (``schemas.validate.validate``)."""
        if self.body is None:
            raise TypeError(f"{self.summary!r} declares no body")
        return validate(self.body, data, error, deepest)


@dataclass(frozen=True)
class ByTask:
    """One ``Api`` per value of the path parameter ``param`` (the task's name)."""

    apis: Mapping[str, Api[Any]]
    param: str = "task"


Declaration = Api[Any] | ByTask
