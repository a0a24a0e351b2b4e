#!/usr/bin/env bash
# Makes cffi, pytest and setuptools available in the project-local .venv (for the Python binding's tests
# and the cdef checks): pip install into the venv, created when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c 'import cffi, pytest, setuptools, wheel' 2>/dev/null || .venv/bin/pip install -q cffi pytest setuptools wheel
