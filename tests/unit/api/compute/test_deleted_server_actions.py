"""From 2.21 the actions of a deleted server are listed (Nova reads deleted instances), though
the gateway forgot the server's routing once its pod answered 404; below 2.21 they are a 404."""

from __future__ import annotations

import pytest
from admin_api_helpers import MEMBER_HEADERS, Caller, assert_fault

from tricircle.api.compute import servers
from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.db import routings
from tricircle.db.routings import ResourceType
from tricircle.pods.client import PodClientError

SERVER = "99999999-aaaa-bbbb-cccc-dddddddddddd"
ACTIONS = [{"action": "create"}, {"action": "delete"}]
V221 = {"OpenStack-API-Version": "compute 2.21"}
V220 = {"OpenStack-API-Version": "compute 2.20"}


class DeletedNova:
    """Pod1's Nova after the server's delete: a show is 404, its actions are still listed."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def call(self, who, region_name, method, path, **_kw):
        self.paths.append(path)
        if path == f"/servers/{SERVER}":
            raise PodClientError(region_name, "compute", 404, f"Instance {SERVER} not found")
        if path.endswith("/os-instance-actions"):
            return PodAnswer(200, {"instanceActions": ACTIONS}, {})
        return PodAnswer(200, {"instanceAction": {**ACTIONS[0], "events": []}}, {})


@pytest.fixture
def gone(compute_app, compute_member, session_factory, pods, monkeypatch) -> DeletedNova:
    """The server deleted in Pod1 and seen gone by a show (its routing forgotten)."""
    with session_factory.begin() as session:
        routings.route_as_itself(
            session,
            top_id=SERVER,
            pod_id=pods["Pod1"].pod_id,
            project_id="demo-project",
            resource_type=ResourceType.SERVER,
        )
    nova = DeletedNova()
    compute_app.extensions[EXTENSION].calls = nova
    monkeypatch.setattr(servers.server_ports, "release_server_ports", lambda *args: [])
    assert_fault(compute_member.get(f"/v2.1/servers/{SERVER}"), 404, "itemNotFound")
    with session_factory() as session:
        assert routings.routed_pod(session, SERVER, ResourceType.SERVER) is None
    return nova


def test_actions_of_a_deleted_server_from_2_21(compute_member, gone):
    listed = compute_member.get(f"/v2.1/servers/{SERVER}/os-instance-actions", headers=V221)
    assert listed.status_code == 200, listed.get_data(as_text=True)
    assert listed.get_json() == {"instanceActions": ACTIONS}
    shown = compute_member.get(f"/v2.1/servers/{SERVER}/os-instance-actions/req-1234", headers=V221)
    assert shown.status_code == 200
    assert gone.paths[-1] == f"/servers/{SERVER}/os-instance-actions/req-1234"


def test_below_2_21_a_deleted_servers_actions_are_404(compute_member, gone):
    answer = compute_member.get(f"/v2.1/servers/{SERVER}/os-instance-actions", headers=V220)
    assert_fault(answer, 404, "itemNotFound", f"Instance {SERVER} could not be found.")


def test_another_projects_deleted_server_is_404(compute_app, gone):
    other = Caller(compute_app.test_client(), {**MEMBER_HEADERS, "X-Project-Id": "other"})
    answer = other.get(f"/v2.1/servers/{SERVER}/os-instance-actions", headers=V221)
    assert_fault(answer, 404, "itemNotFound")


def test_only_actions_reach_a_deleted_server(compute_member, gone):
    answer = compute_member.get(f"/v2.1/servers/{SERVER}/metadata", headers=V221)
    assert_fault(answer, 404, "itemNotFound", f"Instance {SERVER} could not be found.")
