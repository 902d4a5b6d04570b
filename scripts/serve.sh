#!/usr/bin/env bash
# Runs the gateway. With no arguments: the embedded default (SQLite + SmolLM2 in-process) on
# http://127.0.0.1:8000. Any arguments are passed to `gatewayz serve` (e.g. --config FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/gatewayz serve "$@"
