"""The central Neutron (region RegionOne): shared_vlan and local networks, VLANs under contention.

The lab's tenant pool is physnet1:2000:2063 (64 VLANs) on PostgreSQL with two API workers.
Provider requests in these tests use VLANs outside the pool so that they never disturb it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from keystoneauth1 import adapter, session

from tricircle.lab.configs import SHARED_VLAN_PHYSNET, SHARED_VLAN_RANGE
from tricircle.lab.layout import TOP_REGION

pytestmark = pytest.mark.integration

POOL = set(range(SHARED_VLAN_RANGE[0], SHARED_VLAN_RANGE[1] + 1))


@pytest.fixture
def central(admin_session: session.Session) -> adapter.Adapter:
    """The admin's adapter to the central Neutron."""
    return adapter.Adapter(
        admin_session, service_type="network", region_name=TOP_REGION, interface="public"
    )


@pytest.fixture
def networks(central: adapter.Adapter) -> Iterator[Callable[..., dict]]:
    """``create(**attributes)`` -> status and body of a create; every network made is deleted."""
    made: list[str] = []
    prefix = f"test-central-{uuid.uuid4().hex[:8]}"

    def create(**attributes: object) -> dict:
        body = {"network": {"name": prefix, **attributes}}
        response = central.post("/v2.0/networks", json=body, raise_exc=False)
        if response.status_code == 201:
            made.append(response.json()["network"]["id"])
        return {"status": response.status_code, **response.json()}

    yield create
    for network_id in made:
        central.delete(f"/v2.0/networks/{network_id}", raise_exc=False)


def segment(network: dict) -> tuple[str, str | None, int | None]:
    return (
        network["provider:network_type"],
        network["provider:physical_network"],
        network["provider:segmentation_id"],
    )


def pool_in_use(central: adapter.Adapter) -> dict[int, str]:
    """VLANs of the tenant pool held by existing networks -> network ID."""
    found = central.get("/v2.0/networks", params={"provider:network_type": "shared_vlan"}).json()[
        "networks"
    ]
    return {
        net["provider:segmentation_id"]: net["id"]
        for net in found
        if net["provider:segmentation_id"] in POOL
    }


def test_tenant_network_gets_a_vlan_from_the_pool(central, demo_session):
    demo = adapter.Adapter(
        demo_session, service_type="network", region_name=TOP_REGION, interface="public"
    )
    created = demo.post("/v2.0/networks", json={"network": {"name": "test-central-demo"}}).json()
    network_id = created["network"]["id"]
    try:
        network = central.get(f"/v2.0/networks/{network_id}").json()["network"]
        network_type, physnet, vlan = segment(network)
        assert (network_type, physnet) == ("shared_vlan", SHARED_VLAN_PHYSNET), network
        assert vlan in POOL, network
    finally:
        demo.delete(f"/v2.0/networks/{network_id}")


def test_provider_vlan_is_given_exactly_once(central, networks):
    # A shared_vlan provider VLAN must be one the pods' switches carry: a free one of the range.
    provider_vlan = max(POOL - set(pool_in_use(central)))
    wanted = {
        "provider:network_type": "shared_vlan",
        "provider:physical_network": SHARED_VLAN_PHYSNET,
        "provider:segmentation_id": provider_vlan,
    }
    first = networks(**wanted)
    assert first["status"] == 201, first
    assert segment(first["network"]) == ("shared_vlan", SHARED_VLAN_PHYSNET, provider_vlan)
    second = networks(**wanted)
    assert second["status"] == 409, second
    assert second["NeutronError"]["type"] == "VlanIdInUse"
    outside = networks(**{**wanted, "provider:segmentation_id": SHARED_VLAN_RANGE[1] + 1})
    assert outside["status"] == 400, outside


def test_provider_physnet_only_gets_a_pool_vlan(networks):
    created = networks(
        **{"provider:network_type": "shared_vlan", "provider:physical_network": "physnet1"}
    )
    assert created["status"] == 201, created
    assert segment(created["network"])[2] in POOL


def test_local_network_has_no_segment(networks):
    created = networks(**{"provider:network_type": "local"})
    assert created["status"] == 201, created
    assert segment(created["network"]) == ("local", None, None)


def test_concurrent_creates_get_distinct_vlans_until_the_pool_is_exhausted(central, networks):
    held = pool_in_use(central)
    free = len(POOL) - len(held)
    assert free > 0, f"the pool is already exhausted by networks {sorted(held.values())}"
    central.get("/v2.0/networks", params={"limit": 1})  # token fetched once, before the burst

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=free) as pool:
        results = list(pool.map(lambda _: networks(), range(free)))
    elapsed = time.monotonic() - started

    failed = [result for result in results if result["status"] != 201]
    assert not failed, f"{len(failed)} of {free} concurrent creates failed: {failed[:3]}"
    vlans = [segment(result["network"])[2] for result in results]
    assert len(set(vlans)) == free, f"VLANs given twice: {sorted(vlans)}"
    assert set(vlans) | set(held) == POOL, f"{free} creates took {elapsed:.1f}s"

    exhausted = networks()
    assert exhausted["status"] == 503, exhausted
    assert exhausted["NeutronError"]["type"] == "NoNetworkAvailable"

    released = results[0]["network"]
    central.delete(f"/v2.0/networks/{released['id']}")
    again = networks()
    assert again["status"] == 201, again
    assert segment(again["network"])[2] == released["provider:segmentation_id"]
