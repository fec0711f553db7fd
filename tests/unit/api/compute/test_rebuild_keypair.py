"""A rebuild naming a keypair (2.54) makes the caller's keypair exist in the server's pod first,
as a boot does; a name the caller has no keypair of is Nova's 400 and reaches no pod."""

from __future__ import annotations

import pytest
from admin_api_helpers import assert_fault

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.pods.client import PodClientError

SERVER = "77777777-8888-9999-aaaa-bbbbbbbbbbbb"
PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBhZ6J1V9Lrb+fGlBvT4fQpnBLBu8Gp3yZgq1vLuJ8GR test@lab"
)
V2_54 = {"OpenStack-API-Version": "compute 2.54"}


class RebuildNova:
    """Pod1's Nova as the caller: its keypairs, and every call made."""

    def __init__(self) -> None:
        self.keypairs: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []

    def call(self, who, region_name, method, path, *, json=None, **_kw):
        self.calls.append((method, path))
        if path == "/os-keypairs" and method == "POST":
            self.keypairs[json["keypair"]["name"]] = json["keypair"]
            return PodAnswer(200, {"keypair": json["keypair"]}, {})
        if path.startswith("/os-keypairs/"):
            name = path.rsplit("/", 1)[-1]
            if name not in self.keypairs:
                raise PodClientError(region_name, "compute", 404, "not found")
            return PodAnswer(200, {"keypair": self.keypairs[name]}, {})
        return PodAnswer(202, {"server": {"id": SERVER}}, {})


@pytest.fixture
def nova(compute_app, route_servers) -> RebuildNova:
    route_servers({"Pod1": [{"id": SERVER}]})
    fake = RebuildNova()
    compute_app.extensions[EXTENSION].calls = fake
    return fake


def test_the_callers_keypair_is_made_in_the_pod_before_the_rebuild(compute_member, nova):
    made = compute_member.post(
        "/v2.1/os-keypairs", json={"keypair": {"name": "k1", "public_key": PUBLIC_KEY}}
    )
    assert made.status_code in (200, 201), made.get_data(as_text=True)
    body = {"rebuild": {"imageRef": "image-1", "key_name": "k1"}}
    answer = compute_member.post(f"/v2.1/servers/{SERVER}/action", json=body, headers=V2_54)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert nova.keypairs["k1"]["public_key"] == PUBLIC_KEY
    assert nova.calls[-1] == ("POST", f"/servers/{SERVER}/action")


def test_an_unknown_key_name_is_novas_400_and_reaches_no_pod(compute_member, nova):
    body = {"rebuild": {"imageRef": "image-1", "key_name": "nobody-has-it"}}
    answer = compute_member.post(f"/v2.1/servers/{SERVER}/action", json=body, headers=V2_54)
    assert_fault(answer, 400, "badRequest", "Invalid key_name provided.")
    assert nova.calls == []
