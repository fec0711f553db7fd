#!/usr/bin/env bash
# Set up, bring the lab up, and run stock tempest's compute, volume and network API packages
# through RegionOne, leaving out the tests tools/tempest-exclude.txt names (each with its reason).
# The last line is "N passed, N failed, N skipped". Extra arguments go to `tricircle lab tempest`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
export TRICIRCLE_LAB_DIR="${TRICIRCLE_LAB_DIR:-$PWD/.lab}"
.venv/bin/tricircle lab up
exec .venv/bin/tricircle lab tempest --exclude-list tools/tempest-exclude.txt "$@"
