#!/usr/bin/env bash
# Builds every package of this repository into one directory (./dist by default, or $1):
#   gatewayz-X.Y.Z-py3-none-any.whl, gatewayz-X.Y.Z.tar.gz            the gateway
#   gatewayz_py_hf-X.Y.Z-py3-none-any.whl, gatewayz_py_hf-X.Y.Z.tar.gz   the Python client
#   gatewayz-js-hf-X.Y.Z.tgz                                            the TypeScript client
# Install them with `pip install dist/gatewayz_py_hf-...whl` or `npm install ./gatewayz-js-hf-...tgz`.
# Uses ./.venv (made by scripts/setup.sh when absent) or the Python in $PYTHON, and Node 20
# with npm. Build back-ends come from pip's and npm's caches after the first run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${PYTHON:-}" ]; then
  [ -x .venv/bin/python ] || bash scripts/setup.sh
  PYTHON=.venv/bin/python
fi
mkdir -p "${1:-dist}"
out="$(cd "${1:-dist}" && pwd)"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
wheel_and_sdist() { # quiet unless it fails
  "$PYTHON" -m build --outdir "$out" "$1" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
}

echo "== gatewayz (wheel, sdist) -> $out"
wheel_and_sdist .
echo "== gatewayz-py-hf, clients/python (wheel, sdist) -> $out"
wheel_and_sdist clients/python
echo "== gatewayz-js-hf, clients/js (npm tarball) -> $out"
(
  cd clients/js
  [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
  npm pack --silent --pack-destination "$out" >/dev/null # prepack builds dist/esm, dist/cjs
)
ls -1 "$out"
