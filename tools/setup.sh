#!/usr/bin/env bash
# Set up this machine for Tricircle and its lab: Debian packages (PostgreSQL, RabbitMQ, Open
# vSwitch and the data plane's tools, qemu-img), then the virtual
# environment .venv with the project and the lab's OpenStack services at the versions pinned in
# constraints.txt, and .venv-tempest with stock tempest. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
TEMPEST_VERSION=47.0.0

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

packages=()
python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
  || { echo "setup: Python >= 3.11 is required as python3" >&2; exit 1; }
python3 -c 'import venv, ensurepip' 2>/dev/null || packages+=(python3-venv)
command -v gcc >/dev/null || packages+=(build-essential python3-dev)
# PostgreSQL: the machine's server holds the pods' databases (used where one answers), and the
# lab runs a server of its own for Tricircle's database, so the server binaries must be here.
installed_postgres=0
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
    || { ! listening 5432 && ! ls /etc/postgresql/*/main >/dev/null 2>&1; }; then
  packages+=(postgresql); installed_postgres=1
fi
# RabbitMQ: the lab runs its own node for the pods (setpriv runs the lab's PostgreSQL).
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || packages+=(rabbitmq-server)
command -v setpriv >/dev/null || packages+=(util-linux)
# The lab's data plane: its own userspace Open vSwitch, the agents' tools (dnsmasq and its
# dhcp_release, iptables, conntrack, arping), what guests run (dhclient, ping, ethtool), and what the pods' Cinder uses to
# write images to volumes and volumes to images (qemu-img).
for tool in ovs-vswitchd:openvswitch-switch dnsmasq:dnsmasq-base dhclient:isc-dhcp-client \
    iptables:iptables ping:iputils-ping arping:arping conntrack:conntrack ethtool:ethtool \
    ip:iproute2 pgrep:procps qemu-img:qemu-utils dhcp_release:dnsmasq-utils; do
  command -v "${tool%%:*}" >/dev/null || [ -x "/usr/sbin/${tool%%:*}" ] || [ -x "/sbin/${tool%%:*}" ] \
    || packages+=("${tool#*:}")
done
if [ ${#packages[@]} -gt 0 ]; then
  echo "setup: installing ${packages[*]} from Debian's packages"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${packages[@]}" >/dev/null
fi
if [ "$installed_postgres" = 1 ]; then
  # The lab connects as postgres over loopback without a password, as on this project's machines.
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    grep -q '^host all postgres 127.0.0.1/32 trust' "$hba" \
      || as_root sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
  done
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check --upgrade pip wheel
.venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[lab,test]'
# Stock tempest, for the integration tests that run its suites through RegionOne; in its own
# environment, so its libraries never move the versions the lab's services pin.
if [ ! -x .venv-tempest/bin/tempest ]; then
  python3 -m venv .venv-tempest
  .venv-tempest/bin/pip install -q --disable-pip-version-check "tempest==$TEMPEST_VERSION"
fi
echo "setup: ready (.venv/bin/tricircle)"
