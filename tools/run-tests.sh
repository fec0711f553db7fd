#!/usr/bin/env bash
# Set up, lint, and run every test: unit tests (SQLite and PostgreSQL) and integration tests
# against the real lab, which the tests bring up and take down. Then check that `lab down` left
# no process of the lab running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
export TRICIRCLE_LAB_DIR="${TRICIRCLE_LAB_DIR:-$PWD/.lab}"
.venv/bin/ruff check src tests bench
status=0
.venv/bin/pytest tests/unit tests/integration "$@" || status=$?
.venv/bin/tricircle lab down || status=$?  # fails if any process of the lab survives
exit "$status"
