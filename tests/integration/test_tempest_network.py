"""Stock tempest's network API tests for floating IPs and router gateways, through RegionOne.

Tempest runs from its own environment (``.venv-tempest``) with the lab's ``public`` network as
``public_network_id`` and the central Neutron's extension list; it makes its own projects and
users. Every selected test must pass or be skipped by tempest itself, and some must pass.
"""

from __future__ import annotations

import pytest

from tricircle.lab import tempest

pytestmark = pytest.mark.integration

FLOATING_IPS_AND_GATEWAYS = (
    r"^tempest\.api\.network\.(test_floating_ips|test_floating_ips_negative"
    r"|test_routers\.RoutersTest|test_routers_negative"
    r"|admin\.test_floating_ips|admin\.test_routers\.RoutersAdminTest)\."
)


def test_tempest_floating_ip_and_router_gateway_tests_pass(compute_lab):
    tempest.write_config(compute_lab, tempest.read_facts(compute_lab))
    result = tempest.run(compute_lab, FLOATING_IPS_AND_GATEWAYS)
    counts = tempest.totals(result.stdout)
    assert result.returncode == 0 and counts.get("Failed", 0) == 0, result.stdout[-6000:]
    assert counts.get("Passed", 0) >= 20, counts
