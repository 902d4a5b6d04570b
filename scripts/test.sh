#!/usr/bin/env bash
# Installs everything, checks formatting, lint and types, then runs every test
# (SQLite and PostgreSQL). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/services.sh
. .venv/bin/activate

echo "== ruff format --check"; ruff format --check src tests bench
echo "== ruff check"; ruff check src tests bench
echo "== mypy"; mypy
echo "== Python client (clients/python): format, lint, types, generated sync client"
ruff format --check clients/python
ruff check clients/python
(cd clients/python && mypy)
echo "== pytest (the gateway, and the Python client against a live gateway; ~10-15 minutes on 2 cores)"
pytest tests clients/python/tests "$@"
echo "== TypeScript client (clients/js): npm ci (its build tools, ~10-30 s), build, type-check, vitest against a live gateway (~1 minute)"
(cd clients/js && npm ci --no-audit --no-fund --loglevel=error && npm test)
