"""What a model's last conformance check (``gatewayz hf check``) says about it.

A check is *current* when it is not older than the model's last change (``changed_at``:
every change of what the entry serves; a status change is not one). A model may go live -
in the registry through ``set-status``, on the Hub through ``hf sync`` - only with a
current check that passed; ``verdict`` says why not otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def utc(moment: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite hands back naive ones)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class LastCheck:
    checked_at: datetime
    passed: bool
    probes: Sequence[dict[str, Any]]

    def stale(self, changed_at: datetime | None) -> bool:
        return changed_at is not None and utc(changed_at) > utc(self.checked_at)

    def failed_probes(self) -> list[str]:
        return [f"{p['probe']} ({p['client']})" for p in self.probes if p["result"] == "fail"]

    def as_json(self, changed_at: datetime | None) -> dict[str, Any]:
        """The form the registry API and ``models list --json`` show."""
        return {
            "passed": self.passed,
            "checked_at": utc(self.checked_at).isoformat(),
            "stale": self.stale(changed_at),
            "probes": list(self.probes),
        }


def passed(probes: Sequence[dict[str, Any]]) -> bool:
    """A check passes when no probe failed and at least one passed."""
    return all(p["result"] != "fail" for p in probes) and any(p["result"] == "pass" for p in probes)


def verdict(model_id: str, check: LastCheck | None, changed_at: datetime | None) -> str | None:
    """Why ``model_id`` may not go live, or None when its last check passed and is current."""
    if check is None:
        return (
            f"model {model_id!r} has no conformance check: run "
            f"'gatewayz hf check --url URL --key KEY --model {model_id}' (URL: the running "
            "gateway, KEY: an admin key, so that the result is recorded) first"
        )
    when = utc(check.checked_at).isoformat(timespec="seconds")
    if not check.passed:
        return (
            f"the last conformance check of model {model_id!r} ({when}) failed: "
            f"{', '.join(check.failed_probes()) or 'no probe passed'}"
        )
    if check.stale(changed_at):
        assert changed_at is not None
        changed = utc(changed_at).isoformat(timespec="seconds")
        return (
            f"the last conformance check of model {model_id!r} ({when}) is older than "
            f"its last change ({changed}): check it again"
        )
    return None
