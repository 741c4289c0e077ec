#!/usr/bin/env bash
# Set careline up on first use (a virtual environment in .venv) and run it.
#   ./run.sh            talk to careline in this terminal (same as ./run.sh chat)
#   ./run.sh serve      run the HTTP server;  ./run.sh check   say what is ready
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "careline needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
if [ ! -x .venv/bin/careline ] || [ pyproject.toml -nt .venv/.careline-installed ]; then
  echo "Setting up careline in .venv (first run only) ..." >&2
  "$PYTHON" -m venv .venv
  # setuptools cautions that an editable install of a flat layout lets same-named folders in
  # the working directory win; here those folders are the project itself, so say nothing.
  export PYTHONWARNINGS="ignore:Editable installation"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e .
  touch .venv/.careline-installed
fi
if [ $# -eq 0 ]; then set -- chat; fi
exec .venv/bin/careline "$@"
