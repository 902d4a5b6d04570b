"""``gatewayz hf check``: run Hugging Face's conformance probes against a gateway.

Prints one line per model and probe (or ``--json``); exits 0 only when every model
passed. The work is in the ``hf_check`` package.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from gatewayz.config import ConfigError

if TYPE_CHECKING:
    from gatewayz.hf_check.runner import ModelReport

_MARK = {"pass": "pass", "fail": "FAIL", "skip": "skip"}


def _require_clients() -> None:
    missing = []
    for module in ("huggingface_hub", "jsonschema", "httpx"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ConfigError(f"hf check needs {', '.join(missing)}: pip install 'gatewayz[check]'")


def table(reports: list[ModelReport]) -> list[str]:
    """The human-readable report: per model, each probe with its result and latency."""
    lines = [
        f"{'model':<32} {'task':<26} {'client':<7} {'probe':<20} {'result':<6} latency  reason"
    ]
    for r in reports:
        for o in r.outcomes:
            latency = "" if o.latency_ms is None else f"{o.latency_ms} ms"
            lines.append(
                f"{r.model:<32} {r.task:<26} {o.client:<7} {o.probe:<20} "
                f"{_MARK[o.result]:<6} {latency:<8} {o.reason or ''}".rstrip()
            )
        verdict = "PASSED" if r.passed else "FAILED"
        saved = "recorded" if r.recorded is None else f"not recorded: {r.recorded}"
        lines.append(f"{r.model}: {verdict} ({saved})")
    passed = sum(r.passed for r in reports)
    lines.append(f"{passed} of {len(reports)} models passed")
    return lines


def cmd_hf_check(args: argparse.Namespace) -> int:
    _require_clients()
    from gatewayz.hf_check.runner import run_check

    key = args.key or os.environ.get("GATEWAYZ_KEY")
    if not key:
        raise ConfigError("give the gateway key with --key or $GATEWAYZ_KEY")

    def progress(line: str) -> None:
        if not args.json:
            print(line, file=sys.stderr, flush=True)

    reports = run_check(
        args.url,
        key,
        args.model,
        save=not args.no_record,
        js_client=args.js_client,
        progress=progress,
    )
    if args.json:
        doc: dict[str, Any] = {
            "passed": all(r.passed for r in reports),
            "models": [r.as_json() for r in reports],
        }
        print(json.dumps(doc, indent=2))
    else:
        print("\n".join(table(reports)))
    return 0 if reports and all(r.passed for r in reports) else 1


def add_command(hf: Any) -> None:
    """Register ``hf check`` on the ``hf`` subparsers."""
    check = hf.add_parser(
        "check", help="run Hugging Face's conformance probes against a running gateway"
    )
    check.add_argument("--url", required=True, help="the gateway, e.g. http://127.0.0.1:8000")
    check.add_argument(
        "--key",
        help="a gateway key (default: $GATEWAYZ_KEY); an admin key checks staging "
        "models too and records the results",
    )
    check.add_argument(
        "--model", action="append", default=[], help="a gateway model id (repeat; default: all)"
    )
    check.add_argument(
        "--js-client",
        metavar="DIR",
        help="a directory whose node_modules holds @huggingface/inference, for the probes "
        "through it (default: the repository's clients/js; skipped when absent)",
    )
    check.add_argument("--json", action="store_true", help="print JSON")
    check.add_argument(
        "--no-record", action="store_true", help="do not store the results in the registry"
    )
    check.set_defaults(func=cmd_hf_check)
