"""Hostile input against the four APIs of RegionOne: no 5xx, every 4xx in its upstream shape.

More than 500 distinct malformed requests (issue 15's categories: IDs that try to leave their URL
segment, NUL and control characters, wrong JSON types, unknown keys, oversized and deeply nested
bodies, long URLs, wrong media types and microversions, unknown routes and methods) go to the Nova
gateway, the Cinder gateway, the admin API and the central Neutron. The pods' servers, volumes,
networks and ports (and the central Neutron's networks and ports) are counted before and after:
nothing may be created. The summary line printed at the end gives the figures for the README.
"""

from __future__ import annotations

import json
import re
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import pytest
import requests

from tricircle.lab.configs import SHARED_VLAN_PHYSNET
from tricircle.lab.layout import TOP_REGION

pytestmark = pytest.mark.integration

TAG = f"bad-input-{uuid.uuid4().hex[:8]}"
NET = "6f1a3ad8-5c6a-4a57-9d3e-0b1e9e0b7a11"
# IDs as a hostile user writes them in a URL: each tries to leave its segment or upset a store.
HOSTILE_IDS = [
    "%2e%2e",
    "..%2Fports",
    "%2e%2e%2Fnetworks",
    "x%3Ffields%3Did",
    "x%23frag",
    "x%2F",
    "%00",
    "x%00y",
    "%0a",
    "%C2%B2",
    "%E2%80%AE",
    "x" * 300,
    quote("' OR 1=1 --", safe=""),
    quote("<script>", safe=""),
    quote("${jndi:ldap://x}", safe=""),
    "-1",
    "0",
    "null",
    "1.5",
    f"{NET}%2F",
    f"{NET}%23x",
    quote("ＡＢＣ", safe=""),
]
# The same without control characters: the stock central Neutron is not Tricircle's to harden.
NEUTRON_IDS = [i for i in HOSTILE_IDS if i not in ("%00", "x%00y", "%0a")]
RAW_BODIES = [
    b"{",
    b"[]",
    b"null",
    b"5",
    b'"x"',
    b"\xff\xfe\x00",
    b'{"server": ',
    b"[" * 50_000 + b"]" * 50_000,
    b"[" * 100_000 + b"]" * 100_000,
    json.dumps({"x": "y" * 200_000}).encode(),
]


@dataclass(frozen=True)
class Probe:
    """One malformed request: which API, method, path (after the API's root), body, headers."""

    api: str
    method: str
    path: str
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    admin: bool = False

    def describe(self) -> str:
        body = "" if self.body is None else f" body={self.body[:80]!r}"
        return f"{self.api} {self.method} {self.path[:120]}{body} headers={dict(self.headers)}"


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def _boot(**server: object) -> dict:
    return {
        "server": {
            "name": TAG,
            "flavorRef": "1",
            "imageRef": "cirros",
            "networks": "none",
            **server,
        }
    }


def compute_probes() -> Iterator[Probe]:
    for hostile in HOSTILE_IDS:
        for route in (
            "servers/{}",
            "servers/{}/metadata",
            "servers/{}/os-interface",
            "servers/{}/os-volume_attachments",
            "flavors/{}",
            "os-keypairs/{}",
            "os-server-groups/{}",
        ):
            yield Probe("compute", "GET", route.format(hostile))
        yield Probe("compute", "POST", f"servers/{hostile}/action", _json({"reboot": {}}))
        yield Probe("compute", "DELETE", f"servers/{hostile}")
    bad_fields: dict[str, list[object]] = {
        "availability_zone": ["az1\u0000", "az1:nosuchhost", "a:b:c:d", 5, [], " az1", ""],
        "networks": [
            [{"uuid": u}]
            for u in (
                "../ports",
                f"{NET}?fields=id",
                f"{NET}/",
                f"{NET}#x",
                f"../networks/{NET}",
                "",
                5,
            )
        ]
        + ["all", 5, [5], [{"port": "x"}], [{"uuid": NET, "bogus": 1}]],
        "name": ["", " x", "a\u0000", 5, None, "x" * 256],
        "flavorRef": [None, [], {}, True, ""],
        "min_count": ["x", 0, -1, "²", 1.5],
        "max_count": ["x", 0, True],
        "metadata": [5, {"a": 1}, [], {"k": {"nested": "x"}}],
        "key_name": [5, "a\u0000"],
        "security_groups": ["default", [5], [{"nope": "x"}]],
        "block_device_mapping_v2": [5, [5], [{"source_type": "volume", "uuid": 5}]],
        "bogus": [1],
        "hostname": ["h"],
    }
    for name, values in bad_fields.items():
        for value in values:
            yield Probe("compute", "POST", "servers", _json(_boot(**{name: value})))
    for hints in (
        {"group": "x"},
        {"different_host": 5},
        {"same_host": ["x"]},
        {"cidr": "10/8"},
        {"build_near_host_ip": "x"},
        "x",
        [1],
    ):
        yield Probe("compute", "POST", "servers", _json({**_boot(), "os:scheduler_hints": hints}))
    yield Probe("compute", "POST", "servers", _json({**_boot(), "unknown_top": 1}))
    for raw in RAW_BODIES:
        for route in ("servers", "os-keypairs", "os-server-groups", "flavors"):
            yield Probe("compute", "POST", route, raw)
    for version in ("", "compute", "compute abc", "compute 2.0", "compute 99.0", "compute 2.1.1"):
        yield Probe("compute", "GET", "servers", headers=(("OpenStack-API-Version", version),))
    for version in ("", "x", "2"):
        yield Probe(
            "compute", "GET", "flavors", headers=(("X-OpenStack-Nova-API-Version", version),)
        )
    for media in ("garbage/garbage", "application/xml", "multipart/form-data"):
        yield Probe("compute", "POST", "servers", _json(_boot()), (("Content-Type", media),))
    yield from _framework_probes("compute", "servers")


def volume_probes() -> Iterator[Probe]:
    for hostile in HOSTILE_IDS:
        for route in ("volumes/{}", "snapshots/{}", "types/{}", "volumes/{}/metadata"):
            yield Probe("volume", "GET", route.format(hostile))
        yield Probe("volume", "POST", f"volumes/{hostile}/action", _json({"os-extend": {}}))
        yield Probe("volume", "DELETE", f"snapshots/{hostile}")
    bad_fields: dict[str, list[object]] = {
        "size": ["²", "x", -1, 0, 1.5, True, [], {}, "1 ", "٣", 10**20],
        "snapshot_id": [5, [], {}, True, "x\u0000"],
        "source_volid": [5, [], True, "x\u0000"],
        "name": ["a\u0000", 5, "x" * 256],
        "description": [5, "a\u0000"],
        "metadata": [5, {"a": 1}, []],
        "availability_zone": ["az\u0000", 5],
        "volume_type": [5, "t\u0000"],
    }
    for name, values in bad_fields.items():
        for value in values:
            volume = {"size": 1, "name": TAG, name: value}
            yield Probe("volume", "POST", "volumes", _json({"volume": volume}))
    yield Probe("volume", "POST", "volumes", _json({"volume": {"size": 1}, "bogus": 1}))
    for volume_id in (5, None, "x\u0000", [], "../volumes"):
        body = {"snapshot": {"volume_id": volume_id, "name": TAG}}
        yield Probe("volume", "POST", "snapshots", _json(body))
    yield Probe("volume", "GET", "volumes/detail?name=%00")
    yield Probe("volume", "GET", "volumes?limit=-1")
    yield Probe("volume", "GET", "volumes?limit=%C2%B2")
    for raw in RAW_BODIES:
        for route in ("volumes", "snapshots", "types"):
            yield Probe("volume", "POST", route, raw)
    for version in ("", "volume abc", "volume 2.0", "volume 3.999"):
        yield Probe("volume", "GET", "volumes", headers=(("OpenStack-API-Version", version),))
    for media in ("garbage/garbage", "application/xml"):
        body = _json({"volume": {"size": 1, "name": TAG}})
        yield Probe("volume", "POST", "volumes", body, (("Content-Type", media),))
    yield from _framework_probes("volume", "volumes")


def admin_probes() -> Iterator[Probe]:
    for hostile in HOSTILE_IDS:
        for route in ("pods/{}", "bindings/{}", "routings/{}", "jobs/{}"):
            yield Probe("admin", "GET", route.format(hostile), admin=True)
        yield Probe("admin", "DELETE", f"pods/{hostile}", admin=True)
    for region in ("", 5, "a\u0000", f"NoSuchRegion-{TAG}", None, [], "x" * 300):
        body = _json({"pod": {"region_name": region, "az_name": TAG}})
        yield Probe("admin", "POST", "pods", body, admin=True)
    for extra in ({"is_enabled": "yes"}, {"is_enabled": 1}, {"bogus": 1}, {"az_name": 5}):
        body = _json({"pod": {"region_name": f"NoSuchRegion-{TAG}", **extra}})
        yield Probe("admin", "POST", "pods", body, admin=True)
    for binding in (
        {"project_id": 5, "pod_id": "x"},
        {"project_id": "p"},
        {"pod_id": "x" * 100},
        {"project_id": "p\u0000", "pod_id": "x"},
    ):
        yield Probe("admin", "POST", "bindings", _json({"pod_binding": binding}), admin=True)
    for raw in RAW_BODIES:
        for route in ("pods", "bindings", "routings"):
            yield Probe("admin", "POST", route, raw, admin=True)
    yield Probe("admin", "GET", "pods?region_name=%00", admin=True)
    yield Probe("admin", "GET", "routings?limit=x", admin=True)
    for probe in _framework_probes("admin", "pods"):
        yield Probe(probe.api, probe.method, probe.path, probe.body, probe.headers, admin=True)


def network_probes() -> Iterator[Probe]:
    for hostile in NEUTRON_IDS:
        for route in ("networks/{}", "ports/{}", "subnets/{}", "routers/{}"):
            yield Probe("network", "GET", "v2.0/" + route.format(hostile))
    provider = {
        "provider:network_type": "shared_vlan",
        "provider:physical_network": SHARED_VLAN_PHYSNET,
    }
    for vlan_id in (1.5, True, "x", "1.5", 99999, 0, -1, [], {}):
        network = {"name": TAG, **provider, "provider:segmentation_id": vlan_id}
        yield Probe("network", "POST", "v2.0/networks", _json({"network": network}), admin=True)
    for physnet in ("nosuchphysnet", 5, ""):
        network = {
            "name": TAG,
            **provider,
            "provider:physical_network": physnet,
            "provider:segmentation_id": 1,
        }
        yield Probe("network", "POST", "v2.0/networks", _json({"network": network}), admin=True)
    for segments in (
        "x",
        ["x"],
        5,
        [{"provider:segmentation_id": 1.5}],
        [{"provider:segmentation_id": True, **provider}],
    ):
        network = {"name": TAG, "segments": segments}
        yield Probe("network", "POST", "v2.0/networks", _json({"network": network}), admin=True)
    for network in ({"name": 5}, {"name": TAG, "admin_state_up": "maybe"}, {"bogus": 1}):
        yield Probe("network", "POST", "v2.0/networks", _json({"network": network}))
    for raw in (b"{", b"null", b"[]", b"5"):
        yield Probe("network", "POST", "v2.0/networks", raw)


def _framework_probes(api: str, collection: str) -> Iterator[Probe]:
    """Unknown routes, wrong methods and over-long URLs: past [request] max_url_length (4096),
    and near the lab gunicorn's request line limit (8190 bytes), both the API's JSON 414."""
    for path in ("nothing-here", f"{collection}/x/y/z/w", "%2e%2e/%2e%2e/etc/passwd"):
        yield Probe(api, "GET", path)
    yield Probe(api, "PATCH", collection, _json({}))
    yield Probe(api, "TRACE", collection)
    for length in (5000, 8000):
        yield Probe(api, "GET", f"{collection}?name=" + "x" * length)


@dataclass
class Tally:
    """What the APIs answered: statuses by API and the failures found."""

    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def _in_shape(api: str, status: int, response: requests.Response) -> bool:
    """True if the body is the upstream's JSON fault for ``status``."""
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    if api == "network":
        if "NeutronError" in body:
            return {"type", "message", "detail"} <= set(body["NeutronError"])
        return body.get("code") == status or "message" in body  # webob's own JSON fault
    if len(body) != 1:
        return False
    (fault,) = body.values()
    return isinstance(fault, dict) and fault.get("code") == status and "message" in fault


def _counts(pod_api: Callable, regions: list[str]) -> dict[str, int]:
    """Servers, volumes, networks and ports of every pod, networks and ports of RegionOne."""
    counts: dict[str, int] = {}
    for region in regions:
        network = pod_api(region, "network")
        counts[f"{region} networks"] = len(network.get("/v2.0/networks").json()["networks"])
        counts[f"{region} ports"] = len(network.get("/v2.0/ports").json()["ports"])
        if region == TOP_REGION:
            continue
        compute = pod_api(region, "compute")
        servers = compute.get("/servers", params={"all_tenants": 1}).json()["servers"]
        counts[f"{region} servers"] = len(servers)
        volume = pod_api(region, "volumev3")
        volumes = volume.get("/volumes", params={"all_tenants": 1}).json()["volumes"]
        counts[f"{region} volumes"] = len(volumes)
    return counts


def test_hostile_requests_get_4xx_in_shape_and_create_nothing(
    compute_lab, admin_session, demo_session, pod_api
):
    lab = compute_lab
    probes = list(
        dict.fromkeys([*compute_probes(), *volume_probes(), *admin_probes(), *network_probes()])
    )
    assert len(probes) >= 500, len(probes)
    regions = [TOP_REGION] + [pod.region for pod in lab.pod_layouts]
    before = _counts(pod_api, regions)
    roots = {
        "compute": admin_session.get_endpoint(
            service_type="compute", region_name=TOP_REGION, interface="public"
        ),
        "volume": admin_session.get_endpoint(
            service_type="volumev3", region_name=TOP_REGION, interface="public"
        ),
        "network": admin_session.get_endpoint(
            service_type="network", region_name=TOP_REGION, interface="public"
        ),
        "admin": lab.admin_api_url,
    }
    tokens = {True: admin_session.get_token(), False: demo_session.get_token()}
    tally = Tally()
    try:
        _send(probes, roots, tokens, tally)
    finally:
        _remove_leftovers(pod_api)
    after = _counts(pod_api, regions)
    by_api = Counter(api for api, _ in tally.statuses.elements())
    print(
        f"\nbad input: {len(probes)} requests ({dict(by_api)}), "
        f"{sum(n for (_, s), n in tally.statuses.items() if s >= 500)} answers >= 500, "
        f"{len(tally.failures)} failures; statuses {dict(sorted(tally.statuses.items()))}"
    )
    changed = {
        key: (before[key], after.get(key)) for key in before if before[key] != after.get(key)
    }
    assert not tally.failures, "\n".join(tally.failures[:60])
    assert not changed, f"pods changed (before, after): {changed}"


def _send(
    probes: list[Probe], roots: dict[str, str], tokens: dict[bool, str], tally: Tally
) -> None:
    """Send every probe, counting statuses and noting each answer that breaks the contract."""
    with requests.Session() as http:
        for probe in probes:
            headers = {"X-Auth-Token": tokens[probe.admin], "Accept": "application/json"}
            if probe.body is not None:
                headers["Content-Type"] = "application/json"
            headers.update(dict(probe.headers))
            url = f"{roots[probe.api].rstrip('/')}/{probe.path}"
            try:
                response = http.request(
                    probe.method, url, data=probe.body, headers=headers, timeout=60
                )
            except requests.ConnectionError:
                # A kept-alive connection the server closed after an earlier refusal: once more
                # on a new connection; a second drop is the server's failure.
                try:
                    response = requests.request(
                        probe.method, url, data=probe.body, headers=headers, timeout=60
                    )
                except requests.ConnectionError as exc:
                    tally.failures.append(f"connection dropped ({exc}): {probe.describe()}")
                    continue
            tally.statuses[(probe.api, response.status_code)] += 1
            if response.status_code >= 500:
                tally.failures.append(f"{response.status_code}: {probe.describe()}")
            elif response.status_code >= 400 and not _in_shape(
                probe.api, response.status_code, response
            ):
                tally.failures.append(
                    f"not in shape ({response.status_code} {response.text[:120]!r}): "
                    f"{probe.describe()}"
                )
            elif response.status_code < 400 and probe.method != "GET":
                tally.failures.append(f"accepted ({response.status_code}): {probe.describe()}")


def _remove_leftovers(pod_api: Callable) -> None:
    """Delete any central network a probe managed to create (named with this run's tag)."""
    central = pod_api(TOP_REGION, "network")
    for network in central.get("/v2.0/networks", params={"name": TAG}).json()["networks"]:
        central.delete(f"/v2.0/networks/{network['id']}", raise_exc=False)


@pytest.mark.parametrize(
    ("service_type", "path", "status"),
    [
        ("compute", "", 200),
        ("compute", "v2.1", 200),
        ("volumev3", "", 300),
        ("volumev3", "v3", 200),
    ],
)
def test_version_documents_answer_without_a_token(admin_session, service_type, path, status):
    endpoint = admin_session.get_endpoint(
        service_type=service_type, region_name=TOP_REGION, interface="public"
    )
    root = endpoint.split("/v2.1")[0].split("/v3")[0]
    response = requests.get(f"{root}/{path}", timeout=30)
    assert response.status_code == status, response.text
    assert "version" in response.json() or "versions" in response.json()


def test_project_id_in_the_nova_url_is_served(demo_session):
    endpoint = demo_session.get_endpoint(
        service_type="compute", region_name=TOP_REGION, interface="public"
    )
    root = endpoint.split("/v2.1")[0]
    project_id = demo_session.get_project_id()
    headers = {"X-Auth-Token": demo_session.get_token()}
    mine = requests.get(f"{root}/v2.1/{project_id}/flavors", headers=headers, timeout=30)
    assert mine.status_code == 200, mine.text
    other = requests.get(f"{root}/v2.1/{uuid.uuid4().hex}/flavors", headers=headers, timeout=30)
    assert other.status_code == 400 and "badRequest" in other.json(), other.text


def _raw_exchange(url: str, request_head: str, body: bytes = b"") -> tuple[int, dict]:
    """Send a hand-made HTTP/1.1 request (what no client library would send); status, JSON."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request_head.encode() + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            head, _, rest = answer.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            if length and len(rest) >= int(length.group(1)):
                break
    head, _, rest = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(rest)


@pytest.mark.parametrize(
    ("api", "path"), [("compute", "/servers"), ("volume", "/volumes"), ("admin", "/pods")]
)
def test_wire_level_errors_are_json_in_shape(compute_lab, admin_session, api, path):
    """Requests gunicorn itself refuses (request line, header) or cannot decode (chunks)."""
    root = {
        "compute": compute_lab.compute_gateway_url,
        "volume": compute_lab.volume_gateway_url,
        "admin": compute_lab.admin_api_url,
    }[api]
    prefix = urlsplit(root).path
    token = admin_session.get_token()
    host = f"Host: {urlsplit(root).netloc}\r\nX-Auth-Token: {token}\r\n"
    cases = [
        (
            f"POST {prefix}{path} HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            b"zz\r\nabc\r\n0\r\n\r\n",
            400,
        ),
        (
            f"GET {prefix}{path}?name={'x' * 9000} HTTP/1.1\r\n{host}Connection: close\r\n\r\n",
            b"",
            414,
        ),
        (
            f"GET {prefix}{path} HTTP/1.1\r\n{host}X-Big: {'y' * 10000}\r\n"
            "Connection: close\r\n\r\n",
            b"",
            431,
        ),
    ]
    for head, body, status in cases:
        answered, fault = _raw_exchange(root, head, body)
        assert answered == status, (head[:60], fault)
        (only,) = fault.values()
        assert only["code"] == status and only["message"], fault
