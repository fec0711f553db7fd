#!/usr/bin/env bash
# Rally side by side: the same scenarios against RegionOne (Tricircle's gateways and central
# Neutron) and against a pod's own services (Pod1), in one run, then a table of both.
#
#   bash bench/rally/run.sh                       # from the repository root, with the lab up
#   TRICIRCLE_LAB_DIR=/path/to/.lab bash bench/rally/run.sh
#
# It never starts, stops or reconfigures the lab: it reads the lab's credentials
# (`tricircle lab env` writes clouds.yaml), registers two Rally deployments (environments of the
# `existing@openstack` platform, admin credentials: Rally makes a project and a user per workload
# and deletes them after) and runs bench/rally/task.yaml.j2 once per scenario and region, the
# regions alternating first and second. Rally's database, configuration, logs and reports stay
# in $TRICIRCLE_LAB_DIR/rally (never in $HOME). Exits 1 when any success rate is below 100 %.
#
# Settings (environment):
#   TRICIRCLE_LAB_DIR    the lab's state directory (default: .lab in the repository root)
#   TRICIRCLE            the tricircle command (default: .venv/bin/tricircle in the repository)
#   RALLY_POD_REGION     the pod to compare with (default Pod1)
#   RALLY_SCENARIOS      scenarios to run, space-separated (default: all four)
#   RALLY_CONCURRENCIES  concurrencies, space-separated (default "1 4")
#   RALLY_TIMES          iterations per volume and network workload (default 10)
#   RALLY_SERVER_TIMES   iterations per server workload (default 6)
#   PYTHON               Python (>= 3.10) for a new .venv-rally (default python3)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB_DIR=${TRICIRCLE_LAB_DIR:-$REPO/.lab}
TRICIRCLE=${TRICIRCLE:-$REPO/.venv/bin/tricircle}
RALLY_VENV=$REPO/.venv-rally
RALLY_OPENSTACK_VERSION=4.1.0
TOP_REGION=RegionOne
POD_REGION=${RALLY_POD_REGION:-Pod1}
read -r -a SCENARIOS <<< "${RALLY_SCENARIOS:-NovaServers.boot_and_delete_server NovaServers.boot_and_list_server CinderVolumes.create_and_delete_volume NeutronNetworks.create_and_list_networks}"
read -r -a CONCURRENCIES <<< "${RALLY_CONCURRENCIES:-1 4}"
TIMES=${RALLY_TIMES:-10}
SERVER_TIMES=${RALLY_SERVER_TIMES:-6}

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

[ -d "$LAB_DIR" ] || fail "no lab directory $LAB_DIR (set TRICIRCLE_LAB_DIR)"
LAB_DIR=$(cd "$LAB_DIR" && pwd)
[ -x "$TRICIRCLE" ] || fail "no tricircle command at $TRICIRCLE (set TRICIRCLE)"
RALLY_DIR=$LAB_DIR/rally
mkdir -p "$RALLY_DIR/home"

# 1. Rally in its own venv, every package pinned (bench/rally/constraints.txt).
if [ ! -x "$RALLY_VENV/bin/rally" ]; then
    say "installing rally-openstack $RALLY_OPENSTACK_VERSION into $RALLY_VENV"
    "${PYTHON:-python3}" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || fail "Rally needs Python >= 3.10 (set PYTHON)"
    [ -x "$RALLY_VENV/bin/pip" ] || "${PYTHON:-python3}" -m venv "$RALLY_VENV"
    "$RALLY_VENV/bin/pip" install --quiet --disable-pip-version-check \
        -c "$HERE/constraints.txt" "rally-openstack==$RALLY_OPENSTACK_VERSION"
fi
PY=$RALLY_VENV/bin/python

# Rally's settings, rewritten each run. Polling every 0.5 s (0.25 s for volumes) instead of
# Rally's 2 s, and no fixed sleep before the first poll, so a wait ends close to the change.
cat > "$RALLY_DIR/rally.conf" <<EOF
[database]
connection = sqlite:///$RALLY_DIR/rally.sqlite

[openstack]
nova_server_boot_prepoll_delay = 0
nova_server_boot_poll_interval = 0.5
nova_server_delete_prepoll_delay = 0
nova_server_delete_poll_interval = 0.5
cinder_volume_create_prepoll_delay = 0
cinder_volume_create_poll_interval = 0.25
cinder_volume_delete_poll_interval = 0.25
EOF

# Every Rally call: our configuration, and a HOME of its own (Rally keeps ~/.rally/globals).
rally_cli() {
    HOME="$RALLY_DIR/home" "$RALLY_VENV/bin/rally" --config-file "$RALLY_DIR/rally.conf" "$@"
}

# 2. The lab's credentials, and one deployment per region.
"$TRICIRCLE" lab --dir "$LAB_DIR" status > "$RALLY_DIR/lab-status.txt" 2>&1 \
    || fail "the lab in $LAB_DIR is not fully running (see $RALLY_DIR/lab-status.txt)"
"$TRICIRCLE" lab --dir "$LAB_DIR" env > /dev/null
[ -f "$LAB_DIR/clouds.yaml" ] || fail "tricircle lab env wrote no $LAB_DIR/clouds.yaml"
rally_cli db ensure > "$RALLY_DIR/db.log" 2>&1 || fail "rally db ensure failed: $RALLY_DIR/db.log"

env_name() { echo "tricircle-$1"; }
for region in "$TOP_REGION" "$POD_REGION"; do
    name=$(env_name "$region")
    spec=$RALLY_DIR/spec-$region.json
    "$PY" "$HERE/side_by_side.py" spec --clouds "$LAB_DIR/clouds.yaml" --region "$region" > "$spec"
    stored=$(rally_cli env show --only-spec "$name" 2> /dev/null) || stored=
    if [ -n "$stored" ] && ! "$PY" -c 'import json, sys; sys.exit(json.loads(sys.argv[1]) != json.load(open(sys.argv[2])))' "$stored" "$spec"; then
        say "deployment $name: credentials changed, registering it again"
        rally_cli env delete --force "$name" > /dev/null 2>&1
        stored=
    fi
    if [ -z "$stored" ]; then
        rally_cli env create --name "$name" --spec "$spec" --no-use > "$RALLY_DIR/env-$region.log" 2>&1 \
            || fail "could not register deployment $name: $RALLY_DIR/env-$region.log"
    fi
    rally_cli env check "$name" > "$RALLY_DIR/check-$region.log" 2>&1 \
        || fail "deployment $name does not answer: $RALLY_DIR/check-$region.log"
    say "deployment $name ready (region $region)"
done

# 3. The scenarios, each on both sides before the next; the side that goes first alternates.
RUN=run-$(date +%Y%m%dT%H%M%S)
RUN_DIR=$RALLY_DIR/runs/$RUN
mkdir -p "$RUN_DIR"
concurrency_list=$(IFS=,; echo "${CONCURRENCIES[*]}")
broken=0
for index in "${!SCENARIOS[@]}"; do
    scenario=${SCENARIOS[$index]}
    order=("$TOP_REGION" "$POD_REGION")
    [ $((index % 2)) -eq 0 ] || order=("$POD_REGION" "$TOP_REGION")
    args="{\"scenario\": \"$scenario\", \"times\": $TIMES, \"server_times\": $SERVER_TIMES, \"concurrencies\": [$concurrency_list]}"
    for region in "${order[@]}"; do
        log=$RUN_DIR/$((index + 1))-$scenario-$region.log
        say "$scenario on $region (concurrency ${CONCURRENCIES[*]}) ..."
        rc=0
        rally_cli task start --env "$(env_name "$region")" --task-args "$args" \
            --tag "$RUN" --no-use "$HERE/task.yaml.j2" > "$log" 2>&1 || rc=$?
        case $rc in
            0) say "  done" ;;
            2) say "  done, with failed iterations (log: $log)" ;;
            *) say "  task failed (rc $rc; log: $log)"; broken=1 ;;
        esac
    done
done

# 4. One JSON report of every task of this run, and the table.
uuids=()
for region in "$TOP_REGION" "$POD_REGION"; do
    while read -r uuid; do
        [ -n "$uuid" ] && uuids+=("$uuid")
    done < <(rally_cli task list --env "$(env_name "$region")" --tag "$RUN" --uuids-only 2> /dev/null)
done
[ "${#uuids[@]}" -gt 0 ] || fail "no task of this run was recorded (logs: $RUN_DIR)"
rally_cli task report --json --out "$RUN_DIR/report.json" "${uuids[@]}" > "$RUN_DIR/report.log" 2>&1 \
    || fail "rally task report failed: $RUN_DIR/report.log"
rally_cli task report --html-static --out "$RUN_DIR/report.html" "${uuids[@]}" >> "$RUN_DIR/report.log" 2>&1 || true

status=0
"$PY" "$HERE/side_by_side.py" table "$RUN_DIR/report.json" \
    --top "$(env_name "$TOP_REGION")" --top-label "$TOP_REGION" \
    --pod "$(env_name "$POD_REGION")" --pod-label "$POD_REGION" \
    --scenarios "${SCENARIOS[@]}" --concurrencies "${CONCURRENCIES[@]}" \
    | tee "$RUN_DIR/table.md" || status=$?
echo
say "report: $RUN_DIR/report.json (HTML: report.html), table: $RUN_DIR/table.md"
[ "$broken" -eq 0 ] || status=1
exit "$status"
