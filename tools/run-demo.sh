#!/usr/bin/env bash
# The main job: set up, bring the lab up (Keystone, Glance, two pods of real Neutron, Placement and
# Nova on loopback) and run the demo scenario, which prints where each server landed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
.venv/bin/tricircle lab up --pods "${PODS:-2}"
.venv/bin/tricircle lab demo
echo "The lab keeps running: '.venv/bin/tricircle lab env' for credentials, 'lab down' to stop it."
