#!/usr/bin/env bash
# Create .venv and install the locked, hash-checked dependencies into it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null 2>&1 || die "missing: Python 3.11 — install with: sudo apt-get install python3"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' \
  || die "Python 3.11 or newer is needed; $PYTHON is $("$PYTHON" --version 2>&1)"

if [ ! -x .venv/bin/python ]; then
  # Debian splits venv/ensurepip into its own package.
  if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_install "python3-venv"
  fi
  rm -rf .venv
  "$PYTHON" -m venv .venv || die "could not create .venv — install with: sudo apt-get install python3-venv"
fi
# pdqhash is published as source only: building it needs a C++ compiler and Python's headers.
ensure_command g++ g++
.venv/bin/python - <<'PY' || apt_install python3-dev
import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))
PY
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet --require-hashes -r requirements/dev.txt
