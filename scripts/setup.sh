#!/usr/bin/env bash
# Installs everything Gatewayz needs into ./.venv (idempotent; quick when nothing changed).
# Called by scripts/serve.sh and scripts/test.sh; safe to run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

# One line per step, saying how long it usually takes; the tools' own output stays quiet.
started=$SECONDS
say() { echo "setup: $*"; }
took() { echo "setup:   done in $((SECONDS - started)) s"; started=$SECONDS; }

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  say "creating the virtual environment ./.venv with $PYTHON (a few seconds)"
  "$PYTHON" -m venv .venv
  took
fi
. .venv/bin/activate

# llama-cpp-python compiles llama.cpp on first install (~5 min on 2 cores); pip caches the
# wheel afterwards. Portable build flags so the cached wheel runs on any x86-64 CPU.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"

extras="${GATEWAYZ_EXTRAS:-local,dev}"

# Debian packages some features need (root with apt-get only; each optional elsewhere).
# apt_install COMMAND "PACKAGES" "what for" "what happens without it"
apt_install() {
  if command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ "$(id -u)" != 0 ] ||
    ! command -v apt-get >/dev/null; then
    return 0
  fi
  say "installing Debian's $2 with apt-get (a minute or so), for $3"
  # shellcheck disable=SC2086
  (apt-get install -y -q $2 >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $2 >/dev/null 2>&1; }) ||
    echo "note: $2 could not be installed; $4"
  took
}
# Embedded translation uses Debian's rule-based Apertium (en<->es).
apt_install apertium "apertium apertium-eng-spa" "embedded translation" \
  "embedded translation will answer 501"
# The dashboard's browser tests drive Debian's Chromium (Playwright never downloads one).
apt_install chromium chromium "the dashboard's browser tests" \
  "the dashboard's browser tests will skip"
# nginx: the reverse proxy of docs/HUGGINGFACE_IMPLEMENTATION_GUIDE.md (tested over TLS) and
# bench/run.py's static upstream.
apt_install nginx nginx "the guide's HTTPS test and the benchmarks" \
  "the guide's HTTPS test and the benchmarks need it"
stamp=".venv/.gatewayz-installed"
want="$(cat pyproject.toml clients/python/pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1) $extras"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing gatewayz [$extras] (and, with dev, the Python client) into ./.venv with pip:" \
    "a minute or two; the first time it also compiles llama.cpp, ~5 more minutes on 2 cores"
  python -m pip install --quiet --upgrade pip
  python -m pip install --quiet -e ".[${extras}]"
  # The Python client (clients/python), tested against the gateway by the test suite.
  case ",$extras," in *,dev,*) python -m pip install --quiet -e "clients/python[dev]";; esac
  rm -f "$stamp"
  echo "$want" > "$stamp"
  took
else
  say "./.venv is up to date (gatewayz [$extras])"
fi
