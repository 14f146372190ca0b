#!/usr/bin/env bash
# Set up (with test tools) and run the whole check: ruff lint, ruff format check, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
