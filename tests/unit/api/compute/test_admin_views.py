"""The operator's admin views across pods: merged lists, unique routable IDs, routed changes,
summed statistics and usage, Nova's 400/404 shapes and 403 for non-admins."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from admin_api_helpers import assert_fault

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.pods.client import PodClientError, PodUnreachable

V253 = {"OpenStack-API-Version": "compute 2.53"}
V240 = {"OpenStack-API-Version": "compute 2.40"}
V259 = {"OpenStack-API-Version": "compute 2.59"}
V288 = {"OpenStack-API-Version": "compute 2.88"}
V243 = {"OpenStack-API-Version": "compute 2.43"}
HV_UUIDS = {"Pod1": str(uuid.uuid4()), "Pod2": str(uuid.uuid4())}
SVC_UUIDS = {"Pod1": str(uuid.uuid4()), "Pod2": str(uuid.uuid4())}
SERVERS = {"Pod1": str(uuid.uuid4()), "Pod2": str(uuid.uuid4())}


def _missing(region: str, message: str = "not found") -> PodClientError:
    return PodClientError(region, "compute", 404, message)


class FakePod:
    """One pod's Nova admin APIs, in memory (compute host ``pod<i>-compute``, AZ ``az<i>``)."""

    def __init__(self, region: str, index: int) -> None:
        self.region = region
        self.host = f"pod{index}-compute"
        self.zone = f"pod{index}-az"
        self.index = index
        self.disabled = False
        self.aggregates: dict[int, dict] = {}
        self.down = False

    def hypervisor(self, new_ids: bool) -> dict:
        return {
            "id": HV_UUIDS[self.region] if new_ids else 1,
            "hypervisor_hostname": self.host,
            "state": "up",
            "status": "disabled" if self.disabled else "enabled",
            "service": {"id": SVC_UUIDS[self.region] if new_ids else 1, "host": self.host},
        }

    def service(self, new_ids: bool) -> dict:
        return {
            "id": SVC_UUIDS[self.region] if new_ids else 1,
            "binary": "nova-compute",
            "host": self.host,
            "zone": self.zone,
            "status": "disabled" if self.disabled else "enabled",
            "state": "up",
        }

    def answer(self, method: str, path: str, json: Any, params: Any, new_ids: bool) -> Any:
        args = dict(params or [])
        if self.down:
            raise PodUnreachable(self.region, "compute", "connection refused")
        if path in ("/os-hypervisors", "/os-hypervisors/detail"):
            pattern = args.get("hypervisor_hostname_pattern")
            if pattern is not None and pattern not in self.host:
                raise _missing(self.region)
            if args.get("marker") is not None:
                return {"hypervisors": []}
            return {"hypervisors": [self.hypervisor(new_ids)][: int(args.get("limit", 10))]}
        if path == "/os-hypervisors/statistics":
            return {
                "hypervisor_statistics": {"count": 1, "vcpus": 8 * self.index, "memory_mb": 1024}
            }
        if path.startswith("/os-hypervisors/") and path.endswith(("/search", "/servers")):
            if path.split("/")[2] not in self.host:
                raise _missing(self.region)
            return {"hypervisors": [self.hypervisor(new_ids)]}
        if path.startswith("/os-hypervisors/"):
            wanted = HV_UUIDS[self.region] if new_ids else "1"
            if path.split("/")[2] != wanted:
                raise _missing(self.region, "Hypervisor with ID '1' could not be found.")
            return {"hypervisor": self.hypervisor(new_ids)}
        if path == "/os-services" and method == "GET":
            services = [self.service(new_ids)]
            return {"services": [s for s in services if args.get("host") in (None, s["host"])]}
        if path.startswith("/os-services/") and method == "PUT":
            self.disabled = path.endswith("disable") or json.get("status") == "disabled"
            if new_ids:
                return {"service": self.service(True)}
            return {"service": {"host": json["host"], "binary": json["binary"], "status": "x"}}
        if path.startswith("/os-services/") and method == "DELETE":
            return None
        if path == "/os-hosts":
            return {"hosts": [{"host_name": self.host, "service": "compute", "zone": self.zone}]}
        if path.startswith("/os-hosts/"):
            if path.split("/")[2] != self.host:
                raise _missing(self.region)
            return {"host": [{"resource": {"host": self.host}}]}
        if path == "/os-aggregates" and method == "POST":
            aggregate = {**json["aggregate"], "id": len(self.aggregates) + 1, "hosts": []}
            self.aggregates[aggregate["id"]] = aggregate
            return {"aggregate": aggregate}
        if path == "/os-aggregates":
            return {"aggregates": list(self.aggregates.values())}
        if path.startswith("/os-aggregates/"):
            aggregate = self.aggregates.get(int(path.split("/")[2]))
            if aggregate is None:
                raise _missing(self.region, "Aggregate 1 could not be found.")
            if path.endswith("/action"):
                host = json["add_host"]["host"]
                if host != self.host:
                    raise _missing(self.region, f"Compute host {host} could not be found.")
                aggregate["hosts"].append(host)
            return {"aggregate": aggregate}
        if path == "/os-migrations":
            return {
                "migrations": [
                    {
                        "id": 1,
                        "uuid": f"{self.region}-migration",
                        "created_at": f"2026-01-0{self.index}T00:00:00.000000",
                    }
                ]
            }
        if path.startswith("/os-simple-tenant-usage"):
            usage = {
                "tenant_id": "demo-project",
                "total_hours": 1.0,
                "total_vcpus_usage": 2.0,
                "total_memory_mb_usage": 64.0,
                "total_local_gb_usage": 1.0,
                "server_usages": [{"instance_id": SERVERS[self.region]}],
            }
            if args.get("detailed") != "1" and path == "/os-simple-tenant-usage":
                usage.pop("server_usages")
            if path == "/os-simple-tenant-usage":
                return {"tenant_usages": [usage]}
            return {"tenant_usage": usage}
        if path.startswith("/os-instance_usage_audit_log"):
            key = "instance_usage_audit_log" + ("s" if path.endswith("_log") else "")
            return {
                key: {
                    "num_hosts": 1,
                    "num_hosts_done": 1,
                    "num_hosts_running": 0,
                    "num_hosts_not_run": 0,
                    "hosts_not_run": [],
                    "total_instances": self.index,
                    "total_errors": 0,
                    "log": {self.host: {"state": "DONE"}},
                    "period_beginning": "2026-01-01 00:00:00",
                    "period_ending": "2026-02-01 00:00:00",
                }
            }
        if path.startswith("/servers/"):
            if path.split("/")[2] != SERVERS[self.region]:
                raise _missing(self.region)
            return {"server": {"id": SERVERS[self.region]}}
        if path == "/extensions":
            own = {"alias": f"os-pod{self.index}", "name": f"Pod{self.index}Only"}
            shared = {"alias": "os-hosts", "name": "Hosts"}
            return {"extensions": [shared, own]}
        if path.startswith("/extensions/"):
            if path != "/extensions/os-hosts":
                raise _missing(self.region)
            return {"extension": {"alias": "os-hosts", "name": "Hosts"}}
        if path == "/os-server-external-events":
            return {
                "events": [
                    {**event, "status": "completed", "code": 200} for event in json["events"]
                ]
            }
        raise AssertionError(f"unexpected {method} {path}")


class FakePods:
    """Both pods' Nova, as ``CallerPodCalls`` reaches them."""

    def __init__(self) -> None:
        self.pods = {"Pod1": FakePod("Pod1", 1), "Pod2": FakePod("Pod2", 2)}
        self.requests: list[tuple[str, str, str, Any, Any]] = []

    def call(self, who, region_name, method, path, *, json=None, params=None, **_kw):
        self.requests.append((region_name, method, path, copy.deepcopy(json), params))
        new_ids = who.microversion.at_least("2.53")
        body = self.pods[region_name].answer(method, path, json, params, new_ids)
        return PodAnswer(200 if body is not None else 204, body, {})


@pytest.fixture
def nova(compute_app) -> FakePods:
    fake = FakePods()
    compute_app.extensions[EXTENSION].calls = fake
    return fake


# os-hypervisors


def test_hypervisors_listed_once_each_with_unique_routable_ids(compute_admin, nova):
    listed = compute_admin.get("/v2.1/os-hypervisors").get_json()["hypervisors"]
    assert [(h["id"], h["hypervisor_hostname"]) for h in listed] == [
        (1001, "pod1-compute"),
        (1002, "pod2-compute"),
    ]
    shown = compute_admin.get("/v2.1/os-hypervisors/1002").get_json()["hypervisor"]
    assert shown["hypervisor_hostname"] == "pod2-compute" and shown["service"]["id"] == 1002
    assert nova.requests[-1][:3] == ("Pod2", "GET", "/os-hypervisors/1")


def test_hypervisors_from_2_53_are_the_pods_uuids(compute_admin, nova):
    listed = compute_admin.get("/v2.1/os-hypervisors/detail", headers=V253).get_json()
    assert [h["id"] for h in listed["hypervisors"]] == [HV_UUIDS["Pod1"], HV_UUIDS["Pod2"]]
    shown = compute_admin.get(f"/v2.1/os-hypervisors/{HV_UUIDS['Pod2']}", headers=V253)
    assert shown.get_json()["hypervisor"]["hypervisor_hostname"] == "pod2-compute"
    found = compute_admin.get(
        "/v2.1/os-hypervisors?hypervisor_hostname_pattern=pod2", headers=V253
    ).get_json()["hypervisors"]
    assert [h["hypervisor_hostname"] for h in found] == ["pod2-compute"]


def test_hypervisor_statistics_are_summed(compute_admin, nova):
    stats = compute_admin.get("/v2.1/os-hypervisors/statistics").get_json()
    assert stats["hypervisor_statistics"]["count"] == 2
    assert stats["hypervisor_statistics"]["vcpus"] == 24
    assert stats["hypervisor_statistics"]["memory_mb"] == 2048
    assert_fault(
        compute_admin.get("/v2.1/os-hypervisors/statistics", headers=V288), 404, "itemNotFound"
    )


def test_a_pod_that_does_not_answer_is_left_out(compute_admin, nova):
    nova.pods["Pod1"].down = True
    listed = compute_admin.get("/v2.1/os-hypervisors").get_json()["hypervisors"]
    assert [h["hypervisor_hostname"] for h in listed] == ["pod2-compute"]
    stats = compute_admin.get("/v2.1/os-hypervisors/statistics").get_json()
    assert stats["hypervisor_statistics"]["count"] == 1


def test_hypervisor_search_and_servers_before_2_53(compute_admin, nova):
    found = compute_admin.get("/v2.1/os-hypervisors/pod1/search").get_json()["hypervisors"]
    assert [h["id"] for h in found] == [1001]
    servers = compute_admin.get("/v2.1/os-hypervisors/compute/servers").get_json()
    assert len(servers["hypervisors"]) == 2
    assert_fault(
        compute_admin.get("/v2.1/os-hypervisors/nowhere/search"), 404, "itemNotFound", "nowhere"
    )
    assert_fault(
        compute_admin.get("/v2.1/os-hypervisors/pod1/search", headers=V253), 404, "itemNotFound"
    )


def test_hypervisor_paging_runs_through_the_pods(compute_admin, nova):
    headers = {"OpenStack-API-Version": "compute 2.33"}
    first = compute_admin.get("/v2.1/os-hypervisors?limit=1", headers=headers).get_json()
    assert [h["id"] for h in first["hypervisors"]] == [1001]
    assert "marker=1001" in first["hypervisors_links"][0]["href"]
    second = compute_admin.get("/v2.1/os-hypervisors?limit=1&marker=1001", headers=headers)
    assert [h["id"] for h in second.get_json()["hypervisors"]] == [1002]
    assert_fault(
        compute_admin.get("/v2.1/os-hypervisors?marker=7", headers=headers), 400, "badRequest"
    )


@pytest.mark.parametrize(
    ("path", "headers", "code", "name"),
    [
        ("/v2.1/os-hypervisors/abc", {}, 404, "itemNotFound"),
        ("/v2.1/os-hypervisors/1009", {}, 404, "itemNotFound"),
        ("/v2.1/os-hypervisors/1", {}, 404, "itemNotFound"),
        ("/v2.1/os-hypervisors/abc", V253, 400, "badRequest"),
        (f"/v2.1/os-hypervisors/{uuid.uuid4()}", V253, 404, "itemNotFound"),
        ("/v2.1/os-hypervisors?hypervisor_hostname_pattern=nowhere", V253, 404, "itemNotFound"),
        ("/v2.1/os-hypervisors?hypervisor_hostname_pattern=p&limit=1", V253, 400, "badRequest"),
    ],
)
def test_hypervisor_bad_input(compute_admin, nova, path, headers, code, name):
    assert_fault(compute_admin.get(path, headers=headers), code, name)


# os-services


def test_services_merged_and_filtered(compute_admin, nova):
    listed = compute_admin.get("/v2.1/os-services").get_json()["services"]
    assert [(s["id"], s["host"]) for s in listed] == [
        (1001, "pod1-compute"),
        (1002, "pod2-compute"),
    ]
    assert [s["zone"] for s in listed] == ["az1", "az2"]
    only = compute_admin.get("/v2.1/os-services?host=pod2-compute").get_json()["services"]
    assert [s["host"] for s in only] == ["pod2-compute"]


def test_service_disabled_by_host_in_its_pod_only(compute_admin, nova):
    body = {"host": "pod2-compute", "binary": "nova-compute"}
    answer = compute_admin.put("/v2.1/os-services/disable", json=body)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert nova.pods["Pod2"].disabled and not nova.pods["Pod1"].disabled
    assert_fault(compute_admin.put("/v2.1/os-services/nonsense", json=body), 404, "itemNotFound")


def test_service_updated_and_deleted_by_uuid_from_2_53(compute_admin, nova):
    answer = compute_admin.put(
        f"/v2.1/os-services/{SVC_UUIDS['Pod1']}", json={"status": "disabled"}, headers=V253
    )
    assert answer.status_code == 200
    assert answer.get_json()["service"]["zone"] == "az1"
    assert nova.pods["Pod1"].disabled and not nova.pods["Pod2"].disabled
    gone = compute_admin.delete(f"/v2.1/os-services/{SVC_UUIDS['Pod2']}", headers=V253)
    assert gone.status_code == 204
    assert nova.requests[-1][:3] == ("Pod2", "DELETE", f"/os-services/{SVC_UUIDS['Pod2']}")
    assert compute_admin.delete("/v2.1/os-services/1002").status_code == 204
    assert nova.requests[-1][:3] == ("Pod2", "DELETE", "/os-services/1")


@pytest.mark.parametrize(
    ("method", "path", "headers", "code", "name"),
    [
        ("PUT", "/v2.1/os-services/not-a-uuid", V253, 400, "badRequest"),
        ("PUT", f"/v2.1/os-services/{uuid.uuid4()}", V253, 404, "itemNotFound"),
        ("DELETE", "/v2.1/os-services/abc", {}, 400, "badRequest"),
        ("DELETE", "/v2.1/os-services/1009", {}, 404, "itemNotFound"),
        ("DELETE", "/v2.1/os-services/abc", V253, 400, "badRequest"),
    ],
)
def test_service_bad_input(compute_admin, nova, method, path, headers, code, name):
    answer = compute_admin.request(method, path, json={"status": "enabled"}, headers=headers)
    assert_fault(answer, code, name)


# os-hosts


def test_hosts_before_2_43_then_404(compute_admin, nova):
    hosts = compute_admin.get("/v2.1/os-hosts").get_json()["hosts"]
    assert [h["host_name"] for h in hosts] == ["pod1-compute", "pod2-compute"]
    assert compute_admin.get("/v2.1/os-hosts/pod2-compute").status_code == 200
    assert_fault(compute_admin.get("/v2.1/os-hosts/nowhere"), 404, "itemNotFound", "nowhere")
    assert_fault(compute_admin.get("/v2.1/os-hosts", headers=V243), 404, "itemNotFound")


# os-aggregates


def test_an_aggregate_lives_in_the_pod_of_its_zone(compute_admin, nova):
    made = compute_admin.post(
        "/v2.1/os-aggregates", json={"aggregate": {"name": "a", "availability_zone": "az2"}}
    )
    assert made.status_code == 200, made.get_data(as_text=True)
    aggregate = made.get_json()["aggregate"]
    assert aggregate["id"] == 1002 and aggregate["availability_zone"] == "az2"
    assert nova.pods["Pod2"].aggregates[1]["availability_zone"] == "pod2-az"
    listed = compute_admin.get("/v2.1/os-aggregates").get_json()["aggregates"]
    assert [a["id"] for a in listed] == [1002]
    added = compute_admin.post(
        "/v2.1/os-aggregates/1002/action", json={"add_host": {"host": "pod2-compute"}}
    )
    assert added.get_json()["aggregate"]["hosts"] == ["pod2-compute"]
    other = compute_admin.post(
        "/v2.1/os-aggregates/1002/action", json={"add_host": {"host": "pod1-compute"}}
    )
    assert_fault(other, 404, "itemNotFound", "pod1-compute")


def test_an_aggregate_without_a_zone_lives_in_the_first_pod(compute_admin, nova):
    made = compute_admin.post("/v2.1/os-aggregates", json={"aggregate": {"name": "hosts"}})
    assert made.status_code == 200, made.get_data(as_text=True)
    assert made.get_json()["aggregate"]["id"] == 1001
    assert [a["name"] for a in nova.pods["Pod1"].aggregates.values()] == ["hosts"]
    assert nova.pods["Pod2"].aggregates == {}


@pytest.mark.parametrize(
    "body",
    [
        {"aggregate": {"name": "a", "availability_zone": "nowhere"}},
        {"aggregate": {"name": ""}},
        {"aggregate": {"name": "a", "foo": 1}},
        {"name": "a"},
    ],
)
def test_aggregate_create_refused_cleanly(compute_admin, nova, body):
    assert_fault(compute_admin.post("/v2.1/os-aggregates", json=body), 400, "badRequest")
    assert nova.requests == []


def test_aggregate_unknown_ids_are_404(compute_admin, nova):
    for path in ("/v2.1/os-aggregates/1001", "/v2.1/os-aggregates/x", "/v2.1/os-aggregates/5"):
        assert_fault(compute_admin.get(path), 404, "itemNotFound")


# os-migrations, usage, audit log, external events


def test_migrations_merged_newest_first(compute_admin, nova):
    listed = compute_admin.get("/v2.1/os-migrations").get_json()["migrations"]
    assert [m["id"] for m in listed] == [1002, 1001]
    page = compute_admin.get("/v2.1/os-migrations?limit=1", headers=V259).get_json()
    assert [m["uuid"] for m in page["migrations"]] == ["Pod2-migration"]
    after = compute_admin.get(
        "/v2.1/os-migrations?limit=1&marker=Pod2-migration", headers=V259
    ).get_json()
    assert [m["uuid"] for m in after["migrations"]] == ["Pod1-migration"]
    assert_fault(
        compute_admin.get("/v2.1/os-migrations?marker=nope", headers=V259), 400, "badRequest"
    )


def test_tenant_usage_summed_per_project(compute_admin, nova):
    usages = compute_admin.get("/v2.1/os-simple-tenant-usage?detailed=1").get_json()
    (usage,) = usages["tenant_usages"]
    assert usage["total_vcpus_usage"] == 4.0 and len(usage["server_usages"]) == 2
    plain = compute_admin.get("/v2.1/os-simple-tenant-usage").get_json()["tenant_usages"]
    assert "server_usages" not in plain[0] and plain[0]["total_hours"] == 2.0
    shown = compute_admin.get("/v2.1/os-simple-tenant-usage/demo-project").get_json()
    assert shown["tenant_usage"]["total_memory_mb_usage"] == 128.0


def test_tenant_usage_paged_over_the_pods_from_2_40(compute_admin, nova):
    page = compute_admin.get("/v2.1/os-simple-tenant-usage?limit=5", headers=V240).get_json()
    assert page["tenant_usages"][0]["total_hours"] == 2.0
    after = compute_admin.get(
        f"/v2.1/os-simple-tenant-usage?marker={SERVERS['Pod2']}", headers=V240
    )
    assert after.status_code == 200
    assert [request[0] for request in nova.requests if "marker" in dict(request[4] or [])] == [
        "Pod2"
    ]


def test_tenant_usage_of_own_project_for_members(compute_member, nova):
    assert compute_member.get("/v2.1/os-simple-tenant-usage/demo-project").status_code == 200
    assert_fault(compute_member.get("/v2.1/os-simple-tenant-usage/other"), 403, "forbidden")


def test_audit_log_merged(compute_admin, nova):
    log = compute_admin.get("/v2.1/os-instance_usage_audit_log").get_json()
    merged = log["instance_usage_audit_logs"]
    assert merged["num_hosts"] == 2 and merged["total_instances"] == 3
    assert set(merged["log"]) == {"pod1-compute", "pod2-compute"}
    assert merged["overall_status"] == "ALL hosts done. 0 errors."
    shown = compute_admin.get("/v2.1/os-instance_usage_audit_log/2026-02-01 00:00:00").get_json()
    assert shown["instance_usage_audit_log"]["num_hosts"] == 2


def test_external_events_forwarded_to_each_servers_pod(compute_admin, nova):
    events = [
        {"name": "network-changed", "server_uuid": SERVERS["Pod1"]},
        {"name": "network-changed", "server_uuid": SERVERS["Pod2"]},
    ]
    answer = compute_admin.post("/v2.1/os-server-external-events", json={"events": events})
    assert answer.status_code == 200
    assert [e["code"] for e in answer.get_json()["events"]] == [200, 200]
    mixed = events + [{"name": "network-changed", "server_uuid": str(uuid.uuid4())}]
    answer = compute_admin.post("/v2.1/os-server-external-events", json={"events": mixed})
    assert answer.status_code == 207
    assert [e["code"] for e in answer.get_json()["events"]] == [200, 200, 404]


@pytest.mark.parametrize(
    "body",
    [
        {"events": []},
        {"events": [{"name": "nonsense", "server_uuid": SERVERS["Pod1"]}]},
        {"events": [{"name": "network-changed"}]},
        {"events": [{"name": "network-changed", "server_uuid": "x"}]},
    ],
)
def test_external_events_bad_input(compute_admin, nova, body):
    assert_fault(
        compute_admin.post("/v2.1/os-server-external-events", json=body), 400, "badRequest"
    )


# Policy


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2.1/os-hypervisors"),
        ("GET", "/v2.1/os-hypervisors/detail"),
        ("GET", "/v2.1/os-hypervisors/1001"),
        ("GET", "/v2.1/os-hypervisors/statistics"),
        ("GET", "/v2.1/os-hypervisors/pod1/search"),
        ("GET", "/v2.1/os-services"),
        ("PUT", "/v2.1/os-services/disable"),
        ("DELETE", "/v2.1/os-services/1001"),
        ("GET", "/v2.1/os-hosts"),
        ("GET", "/v2.1/os-aggregates"),
        ("POST", "/v2.1/os-aggregates"),
        ("GET", "/v2.1/os-migrations"),
        ("GET", "/v2.1/os-simple-tenant-usage"),
        ("GET", "/v2.1/os-instance_usage_audit_log"),
        ("POST", "/v2.1/os-server-external-events"),
    ],
)
def test_non_admins_get_nova_403(compute_member, nova, method, path):
    answer = compute_member.request(method, path, json={})
    assert_fault(answer, 403, "forbidden", "Policy doesn't allow os_compute_api:")
    assert nova.requests == []


def test_extensions_merged_once_each_and_shown_from_a_pod(compute_member, nova):
    listed = compute_member.get("/v2.1/extensions").get_json()["extensions"]
    assert [extension["alias"] for extension in listed] == ["os-hosts", "os-pod1", "os-pod2"]
    shown = compute_member.get("/v2.1/extensions/os-hosts").get_json()
    assert shown == {"extension": {"alias": "os-hosts", "name": "Hosts"}}
    assert_fault(compute_member.get("/v2.1/extensions/os-nothing"), 404, "itemNotFound")
