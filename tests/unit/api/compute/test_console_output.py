"""``os-getConsoleOutput`` reaches the server's pod with ``length`` as the caller gave it (Nova
takes an integer, an integer string, -1 or null for everything, or no ``length`` at all)."""

from __future__ import annotations

import pytest

from tricircle.api.compute.state import EXTENSION
from tricircle.api.podcalls import PodAnswer
from tricircle.pods.client import PodClientError

SERVER = "66666666-7777-8888-9999-aaaaaaaaaaaa"
OUTPUT = "line 1\nline 2\nline 3\nline 4\nlab-guest login: "


class ConsoleNova:
    """Pod1's Nova as the caller: console output cut as Nova cuts it; a bad length refused."""

    def __init__(self) -> None:
        self.bodies: list[object] = []

    def call(self, who, region_name, method, path, *, json=None, **_kw):
        self.bodies.append(json)
        length = (json["os-getConsoleOutput"] or {}).get("length")
        if length is None or int(length) == -1:
            return PodAnswer(200, {"output": OUTPUT}, {})
        if int(length) < -1:
            raise PodClientError(region_name, "compute", 400, "Invalid input for field/attribute")
        return PodAnswer(200, {"output": "\n".join(OUTPUT.split("\n")[-int(length) :])}, {})


@pytest.fixture
def nova(compute_app, route_servers) -> ConsoleNova:
    route_servers({"Pod1": [{"id": SERVER}]})
    fake = ConsoleNova()
    compute_app.extensions[EXTENSION].calls = fake
    return fake


@pytest.mark.parametrize(
    ("arguments", "lines"),
    [({"length": 2}, 2), ({"length": "3"}, 3), ({"length": -1}, 5), ({}, 5), (None, 5)],
)
def test_length_reaches_the_pod_unchanged(compute_member, nova, arguments, lines):
    body = {"os-getConsoleOutput": arguments}
    answer = compute_member.post(f"/v2.1/servers/{SERVER}/action", json=body)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert len(answer.get_json()["output"].split("\n")) == lines
    assert nova.bodies == [body]


def test_a_length_the_pod_refuses_is_its_400(compute_member, nova):
    body = {"os-getConsoleOutput": {"length": -2}}
    answer = compute_member.post(f"/v2.1/servers/{SERVER}/action", json=body)
    assert answer.status_code == 400
