#!/usr/bin/env bash
# Set up the test environment (first run only) and run lint, type checks and every test.
# Extra arguments go to pytest, e.g. ./test.sh -k dispatcher
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/pytest ] || [ pyproject.toml -nt .venv/.careline-dev-installed ]; then
  echo "Setting up the test environment in .venv (first run only) ..." >&2
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch .venv/.careline-installed .venv/.careline-dev-installed
fi
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest "$@"
