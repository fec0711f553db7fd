"""The operator's admin views through RegionOne, proven against each pod's own Nova.

Hypervisors and services of every pod in one list (each once), statistics equal to the sum of
the pods' own, a compute service disabled through RegionOne disabled in its pod only (and
enabled again, whatever happens), and non-admins refused with Nova's 403.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from compute_gateway_helpers import fault
from keystoneauth1 import adapter, session

from tricircle.lab.layout import TOP_REGION, LabLayout

pytestmark = pytest.mark.integration

UUID_IDS = "2.53"
# Fields of the statistics that do not move while nothing boots (running_vms and the used
# amounts may, so the comparison is polled).
STATISTICS = (
    "count",
    "vcpus",
    "memory_mb",
    "local_gb",
    "vcpus_used",
    "memory_mb_used",
    "local_gb_used",
    "running_vms",
)


def _top(user_session: session.Session) -> adapter.Adapter:
    return adapter.Adapter(
        user_session, service_type="compute", region_name=TOP_REGION, interface="public"
    )


def _get(api: adapter.Adapter, path: str, microversion: str | None = None) -> Any:
    response = api.get(path, microversion=microversion, raise_exc=False)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    return response.json()


@pytest.fixture(scope="module")
def regions(compute_lab: LabLayout) -> list[str]:
    return [pod.region for pod in compute_lab.pod_layouts]


@pytest.fixture(scope="module")
def top(compute_lab: LabLayout, admin_session: session.Session) -> adapter.Adapter:
    return _top(admin_session)


def test_each_pods_hypervisor_is_listed_once(top, pod_api, regions):
    listed = _get(top, "/os-hypervisors", UUID_IDS)["hypervisors"]
    expected: dict[str, str] = {}
    for region in regions:
        for hypervisor in _get(pod_api(region, "compute"), "/os-hypervisors", UUID_IDS)[
            "hypervisors"
        ]:
            expected[hypervisor["id"]] = f"{region}:{hypervisor['hypervisor_hostname']}"
    assert sorted(h["id"] for h in listed) == sorted(expected), (listed, expected)
    names = [h["hypervisor_hostname"] for h in listed]
    assert len(names) == len(set(names)) == len(regions), names
    for region, index in zip(regions, range(1, len(regions) + 1), strict=True):
        assert f"pod{index}-compute" in names, f"{region}'s host missing from {names}"
    # Before 2.53 the integer IDs are unique too, and each routes back to its hypervisor.
    old = _get(top, "/os-hypervisors")["hypervisors"]
    assert len({h["id"] for h in old}) == len(old) == len(regions), old
    for hypervisor in old:
        shown = _get(top, f"/os-hypervisors/{hypervisor['id']}")["hypervisor"]
        assert shown["hypervisor_hostname"] == hypervisor["hypervisor_hostname"]


def test_each_hypervisors_uptime_comes_from_its_own_pod(top, pod_api, regions):
    """Routed by ID (integer IDs below 2.53): the pod's own answer, its host's ``uptime``."""
    for region in regions:
        own = _get(pod_api(region, "compute"), "/os-hypervisors", "2.52")["hypervisors"]
        (hypervisor,) = own
        listed = _get(top, "/os-hypervisors", "2.52")["hypervisors"]
        (top_id,) = [
            h["id"] for h in listed if h["hypervisor_hostname"] == hypervisor["hypervisor_hostname"]
        ]
        shown = _get(top, f"/os-hypervisors/{top_id}/uptime", "2.52")["hypervisor"]
        assert shown["hypervisor_hostname"] == hypervisor["hypervisor_hostname"]
        assert "load average" in shown["uptime"], shown


def test_statistics_are_the_sum_of_the_pods(top, pod_api, regions, wait_until):
    def matches() -> tuple[dict, dict] | None:
        summed = dict.fromkeys(STATISTICS, 0)
        for region in regions:
            own = _get(pod_api(region, "compute"), "/os-hypervisors/statistics")
            for key in STATISTICS:
                summed[key] += own["hypervisor_statistics"][key]
        shown = _get(top, "/os-hypervisors/statistics")["hypervisor_statistics"]
        return (shown, summed) if all(shown[key] == summed[key] for key in STATISTICS) else None

    shown, summed = wait_until(matches, 30, "RegionOne's statistics to equal the pods' sum")
    assert shown["count"] == len(regions)


def test_services_list_holds_every_pods_services(top, pod_api, regions):
    listed = _get(top, "/os-services", UUID_IDS)["services"]
    for region in regions:
        own = _get(pod_api(region, "compute"), "/os-services", UUID_IDS)["services"]
        missing = {s["id"] for s in own} - {s["id"] for s in listed}
        assert not missing, f"{region}'s services {missing} are not listed by RegionOne"
    hosts = {s["host"] for s in listed if s["binary"] == "nova-compute"}
    assert hosts == {f"pod{i}-compute" for i in range(1, len(regions) + 1)}, hosts


def _compute_service(api: adapter.Adapter, host: str) -> dict[str, Any]:
    services = _get(api, f"/os-services?binary=nova-compute&host={host}", UUID_IDS)["services"]
    assert len(services) == 1, services
    return services[0]


def test_a_service_disabled_through_regionone_is_disabled_in_its_pod_only(top, pod_api, regions):
    target, others = regions[-1], regions[:-1]
    host = f"pod{len(regions)}-compute"
    pod = pod_api(target, "compute")
    before = {
        region: _compute_service(pod_api(region, "compute"), f"pod{i}-compute")["status"]
        for i, region in enumerate(others, 1)
    }
    service = _compute_service(top, host)
    try:
        answer = top.put(
            f"/os-services/{service['id']}",
            json={"status": "disabled", "disabled_reason": "tricircle admin views test"},
            microversion=UUID_IDS,
            raise_exc=False,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["service"]["status"] == "disabled"
        assert _compute_service(pod, host)["status"] == "disabled", f"{target} {service['id']}"
        for i, region in enumerate(others, 1):
            status = _compute_service(pod_api(region, "compute"), f"pod{i}-compute")["status"]
            assert status == before[region], f"{region}'s compute service changed to {status}"
        # Enabled again through RegionOne, by host and binary as before 2.53.
        enabled = top.put(
            "/os-services/enable",
            json={"host": host, "binary": "nova-compute"},
            raise_exc=False,
        )
        assert enabled.status_code == 200, enabled.text
        assert _compute_service(pod, host)["status"] == "enabled", f"{target} {service['id']}"
    finally:
        if _compute_service(pod, host)["status"] != "enabled":
            pod.put(
                f"/os-services/{service['id']}",
                json={"status": "enabled"},
                microversion=UUID_IDS,
                raise_exc=False,
            )


@pytest.mark.parametrize(
    "path", ["/os-hypervisors", "/os-hypervisors/statistics", "/os-services", "/os-aggregates"]
)
def test_non_admins_are_refused(compute_lab, demo_session, path: str):
    answer = _top(demo_session).get(path, raise_exc=False)
    assert "Policy doesn't allow" in fault(answer, 403, "forbidden")


def test_an_aggregate_without_a_zone_lives_in_the_first_pod(top, pod_api, regions):
    """The lab sets no [scheduler] default_availability_zone: the first pod by region holds it."""
    name = f"no-zone-{uuid.uuid4().hex[:8]}"
    made = _created(top.post("/os-aggregates", json={"aggregate": {"name": name}}, raise_exc=False))
    try:
        assert made["availability_zone"] is None
        for index, region in enumerate(sorted(regions)):
            in_pod = _get(pod_api(region, "compute"), "/os-aggregates")["aggregates"]
            held = [a["name"] for a in in_pod if a["name"] == name]
            assert held == ([name] if index == 0 else []), region
        shown = _get(top, f"/os-aggregates/{made['id']}")["aggregate"]
        assert shown["name"] == name
    finally:
        assert top.delete(f"/os-aggregates/{made['id']}", raise_exc=False).status_code == 200


def _created(answer: Any) -> dict:
    assert answer.status_code == 200, answer.text
    return answer.json()["aggregate"]
