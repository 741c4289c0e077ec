#!/usr/bin/env bash
# Set up the test environment (first run only) and run lint, type checks and every test.
# Extra arguments go to pytest, e.g. ./test.sh -k dispatcher
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/pytest ] || [ pyproject.toml -nt .venv/.careline-dev-installed ]; then
  echo "Setting up the test environment in .venv (first run only) ..." >&2
  "$PYTHON" -m venv .venv
  # setuptools cautions that an editable install of a flat layout lets same-named folders in
  # the working directory win; here those folders are the project itself, so say nothing.
  export PYTHONWARNINGS="ignore:Editable installation"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch .venv/.careline-installed .venv/.careline-dev-installed
fi
# The browser tests (staff console, web chat) drive Debian's Chromium; as root on Debian, install it
# once. Elsewhere the browser tests are skipped and say why.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium for the browser tests (first run only) ..." >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
    || echo "Could not install chromium; the browser tests will be skipped." >&2
fi
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest "$@"
