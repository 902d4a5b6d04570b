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
echo "== pytest (the gateway, and the Python client against a live gateway)"
pytest tests clients/python/tests "$@"
echo "== TypeScript client (clients/js): build, type-check, vitest against a live gateway"
(cd clients/js && npm ci --no-audit --no-fund --loglevel=error && npm test)
