"""The cross-pod server list: sort parameters, pod requests, merging, pods that fail."""

from __future__ import annotations

import pytest
from admin_api_helpers import MEMBER_HEADERS, Caller, assert_fault
from werkzeug.datastructures import MultiDict

from tricircle.api.compute import server_list
from tricircle.api.compute.state import EXTENSION
from tricircle.api.errors import BadRequest
from tricircle.api.podcalls import PodAnswer
from tricircle.db.models import ResourceRouting
from tricircle.pods.client import PodServerError, PodUnreachable

OTHER_HEADERS = {**MEMBER_HEADERS, "X-Project-Id": "other-project", "X-User-Id": "other-user"}


def test_default_sort_is_created_at_then_uuid_descending():
    keys = server_list.sort_keys(MultiDict())
    assert [(key.name, key.direction) for key in keys] == [("created_at", "desc"), ("uuid", "desc")]
    named = server_list.sort_keys(MultiDict([("sort_key", "display_name"), ("sort_dir", "asc")]))
    assert [(key.name, key.direction) for key in named] == [
        ("display_name", "asc"),
        ("created_at", "asc"),
        ("uuid", "asc"),
    ]
    assert server_list.sort_keys(MultiDict([("sort_key", "id")]))[0].name == "uuid"


@pytest.mark.parametrize(
    "args",
    [
        [("sort_key", "nonsense")],
        [("sort_key", "display_name"), ("sort_dir", "sideways")],
        [("sort_dir", "asc")],
    ],
)
def test_bad_sort_parameters_are_400(args):
    with pytest.raises(BadRequest):
        server_list.sort_keys(MultiDict(args))


class FakePods:
    """Pods answering server lists from memory, in the order and pages asked; some are down."""

    def __init__(self, servers: dict[str, list[dict]], down: set[str] = frozenset()) -> None:
        self.servers = servers
        self.down = down
        self.silent: set[str] = set()
        self.requests: list[tuple[str, list]] = []

    def call(self, who, region_name, method, path, *, params=None, timeout=None, **_kw):
        self.requests.append((region_name, list(params or [])))
        if region_name in self.down:
            raise PodServerError(region_name, "compute", 500, "pod failed")
        if region_name in self.silent:
            raise PodUnreachable(region_name, "compute", "connection refused")
        pairs = list(params or [])
        records = self.servers[region_name]
        if path != "/servers/detail":
            wanted = path.rsplit("/", 1)[-1]
            return PodAnswer(200, {"server": next(s for s in records if s["id"] == wanted)}, {})
        keys = [value for name, value in pairs if name == "sort_key"]
        dirs = [value for name, value in pairs if name == "sort_dir"]
        ordered = list(records)
        for key, direction in reversed(list(zip(keys, dirs, strict=True))):
            field = server_list.SORT_FIELDS[key]
            ordered.sort(key=lambda s, f=field: s.get(f) or "", reverse=direction == "desc")
        marker = dict(pairs).get("marker")
        if marker:
            ordered = ordered[[s["id"] for s in ordered].index(marker) + 1 :]
        return PodAnswer(200, {"servers": ordered[: int(dict(pairs)["limit"])]}, {})


def _server(server_id: str, name: str, az: str) -> dict:
    return {
        "id": server_id,
        "name": name,
        "created": "2026-11-25T00:00:00Z",
        "status": "ACTIVE",
        "flavor": {},
        "OS-EXT-AZ:availability_zone": az,
        "links": [{"rel": "self", "href": f"http://pod/v2.1/servers/{server_id}"}],
    }


@pytest.fixture
def fake_pods(compute_app, route_servers):
    servers = {
        "Pod1": [_server("a1", "vm-a", "pod1-az"), _server("c1", "vm-c", "pod1-az")],
        "Pod2": [_server("b2", "vm-b", "pod2-az"), _server("d2", "vm-d", "pod2-az")],
    }
    route_servers(servers)
    fake = FakePods(servers)
    compute_app.extensions[EXTENSION].calls = fake
    return fake


def test_pages_merge_pods_in_order_with_next_links(compute_member, fake_pods):
    first = compute_member.get("/v2.1/servers?sort_key=display_name&sort_dir=asc&limit=3")
    body = first.get_json()
    assert [server["id"] for server in body["servers"]] == ["a1", "b2", "c1"]
    assert set(body["servers"][0]) == {"id", "name", "links"}
    assert body["servers"][0]["links"][0]["href"].endswith("/v2.1/servers/a1")
    href = body["servers_links"][0]["href"]
    assert "marker=c1" in href and "sort_key=display_name" in href
    second = compute_member.get(href.split("localhost", 1)[1]).get_json()
    assert [server["id"] for server in second["servers"]] == ["d2"]
    assert "servers_links" not in second
    detail = compute_member.get("/v2.1/servers/detail?sort_key=display_name&sort_dir=desc")
    shown = detail.get_json()["servers"]
    assert [server["OS-EXT-AZ:availability_zone"] for server in shown] == [
        "az2",
        "az1",
        "az2",
        "az1",
    ]


def test_filters_travel_to_every_pod(compute_member, fake_pods):
    compute_member.get("/v2.1/servers?name=vm&status=ACTIVE")
    for _region, params in fake_pods.requests:
        assert ("name", "vm") in params and ("status", "ACTIVE") in params


def test_a_failed_pod_is_unknown_from_2_69_and_fails_the_list_below(compute_member, fake_pods):
    fake_pods.down = {"Pod2"}
    new = compute_member.get(
        "/v2.1/servers/detail", headers={"OpenStack-API-Version": "compute 2.69"}
    ).get_json()["servers"]
    assert {server["id"]: server["status"] for server in new} == {
        "a1": "ACTIVE",
        "c1": "ACTIVE",
        "b2": "UNKNOWN",
        "d2": "UNKNOWN",
    }
    old = compute_member.get("/v2.1/servers")
    assert_fault(old, 503, "serviceUnavailable")


def test_a_silent_pod_is_left_out_below_2_69(compute_member, fake_pods):
    fake_pods.silent = {"Pod2"}
    old = compute_member.get("/v2.1/servers").get_json()["servers"]
    assert {server["id"] for server in old} == {"a1", "c1"}


def test_the_closing_request_asks_no_pod_and_another_project_misses(
    compute_app, compute_member, fake_pods
):
    path = "/v2.1/servers/detail?sort_key=display_name&sort_dir=asc"
    listed = compute_member.get(path).get_json()["servers"]
    assert [server["id"] for server in listed] == ["a1", "b2", "c1", "d2"]
    fake_pods.requests.clear()
    assert compute_member.get(f"{path}&marker=d2").get_json() == {"servers": []}
    assert fake_pods.requests == []
    other = Caller(compute_app.test_client(), OTHER_HEADERS).get(f"{path}&marker=d2")
    assert other.get_json() == {"servers": []}
    assert {region for region, _params in fake_pods.requests} == {"Pod1", "Pod2"}


def test_unknown_marker_is_400(compute_member, fake_pods):
    response = compute_member.get("/v2.1/servers?marker=nope")
    assert_fault(response, 400, "badRequest", "marker [nope] not found")


def _flavor_copy(session_factory, pod, top_id: str, bottom_id: str) -> None:
    with session_factory.begin() as session:
        session.add(
            ResourceRouting(
                top_id=top_id,
                bottom_id=bottom_id,
                pod_id=pod.pod_id,
                project_id="demo-project",
                resource_type="flavor",
            )
        )


@pytest.mark.parametrize("path", ["/v2.1/servers", "/v2.1/servers/detail"])
def test_a_flavor_filter_names_each_pods_copy_and_skips_pods_without_one(
    compute_member, fake_pods, session_factory, pods, path
):
    _flavor_copy(session_factory, pods["Pod1"], "top-flavor", "pod1-flavor")
    compute_member.get(f"{path}?flavor=top-flavor&name=vm")
    asked = {region: params for region, params in fake_pods.requests}
    assert set(asked) == {"Pod1"}
    assert ("flavor", "pod1-flavor") in asked["Pod1"] and ("name", "vm") in asked["Pod1"]
    assert ("flavor", "top-flavor") not in asked["Pod1"]


def test_a_flavor_no_pod_holds_lists_nothing(compute_member, fake_pods):
    body = compute_member.get("/v2.1/servers/detail?flavor=unknown").get_json()
    assert body == {"servers": []} and fake_pods.requests == []


def test_a_flavor_filter_is_not_matched_by_another_resource_type(
    compute_member, fake_pods, session_factory, pods
):
    with session_factory.begin() as session:
        session.add(
            ResourceRouting(
                top_id="shared-id",
                bottom_id="other",
                pod_id=pods["Pod2"].pod_id,
                project_id="demo-project",
                resource_type="network",
            )
        )
    _flavor_copy(session_factory, pods["Pod1"], "shared-id", "shared-id")
    compute_member.get("/v2.1/servers?flavor=shared-id")
    assert [region for region, _params in fake_pods.requests] == ["Pod1"]


def test_a_body_less_put_to_a_server_tag_goes_to_the_servers_pod(
    compute_app, compute_member, fake_pods
):
    sent = []

    def call(who, region_name, method, path, *, json=None, **_kw):
        sent.append((region_name, method, path, json))
        return PodAnswer(204, None, {})

    compute_app.extensions[EXTENSION].calls.call = call
    answer = compute_member.put("/v2.1/servers/b2/tags/blue")
    assert answer.status_code == 204
    assert sent == [("Pod2", "PUT", "/servers/b2/tags/blue", None)]
