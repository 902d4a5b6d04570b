"""The task specs are the one list of tasks: every other list of task names (the ``Task``
type, each upstream kind's helpers, the embedded handlers, docs/TASKS.md) is checked
against them here, so a task added in one place and forgotten in another fails."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from gatewayz.tasks import ALL_TASKS, Task
from gatewayz.tasks.registry import TASK_SPECS, TEXT_TASKS
from gatewayz.upstreams.base import Upstream
from gatewayz.upstreams.local import LOCAL_TASKS, LocalUpstream
from gatewayz.upstreams.local_tasks import LocalTasks
from gatewayz.upstreams.openai import OpenAIUpstream
from gatewayz.upstreams.registry import UPSTREAM_KINDS
from tests.servers import ROOT

DECLARED = {*TASK_SPECS, *TEXT_TASKS}


def test_the_task_type_names_exactly_the_tasks_with_a_spec() -> None:
    """``Task`` (a Literal, for the configuration's types) is a copy the specs check."""
    assert set(get_args(Task)) == DECLARED
    assert set(ALL_TASKS) == DECLARED


def handlers(kind: type[Upstream]) -> set[str]:
    """The tasks ``kind`` has a helper (or embedded handler) for."""
    if issubclass(kind, OpenAIUpstream):
        return set(kind.helpers)
    assert kind is LocalUpstream, f"kind {kind.kind!r}: say here where its helpers are"
    return set(LocalTasks().handlers)


@pytest.mark.parametrize("kind", sorted(UPSTREAM_KINDS))
def test_each_kind_claims_only_tasks_with_a_spec_and_a_helper(kind: str) -> None:
    adapter = UPSTREAM_KINDS[kind]
    assert adapter.kind == kind
    assert adapter.tasks <= DECLARED, adapter.tasks - DECLARED
    assert set(TEXT_TASKS) <= adapter.tasks  # chat and text generation: adapter.create
    claimed = adapter.tasks - set(TEXT_TASKS)
    assert claimed == handlers(adapter)
    assert claimed <= set(TASK_SPECS)
    for task, helper in getattr(adapter, "helpers", {}).items():
        assert helper.task == task


def test_the_embedded_task_names_are_its_handlers() -> None:
    assert set(LocalTasks().handlers) == LOCAL_TASKS


def test_every_task_is_documented_with_an_example() -> None:
    doc = (ROOT / "docs" / "TASKS.md").read_text()
    sections = set(re.findall(r"^### (\S+)$", doc, re.M))
    assert sections >= DECLARED, DECLARED - sections
