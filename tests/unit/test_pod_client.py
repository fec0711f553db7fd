"""Pod clients against a local fake Keystone and fake pod services (http.server in a thread)."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from keystoneauth1 import adapter as ksa_adapter
from keystoneauth1 import session
from oslo_config import cfg

from tricircle import conf as tricircle_conf
from tricircle.cache import TtlCache
from tricircle.pods.client import (
    CA_BUNDLE_VARIABLES,
    PodClientError,
    PodClients,
    PodServerError,
    PodServiceNotFound,
    PodUnreachable,
    make_session,
    raise_for_status,
    read_environment_once,
)

TOKEN = "fake-token"


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeCloud(ThreadingHTTPServer):
    """Keystone at /identity/v3 plus pods' services at /<region>/<service>/..."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.token_requests = 0
        self.requests: list[tuple[str, str, dict]] = []
        self.release_slow = threading.Event()
        self.flaky_seen: set[str] = set()

    def catalog(self) -> list[dict]:
        """Public endpoints on this server, internal ones nowhere, Pod3 on a closed port."""

        def endpoint(region: str, service: str, interface: str = "public", url: str = "") -> dict:
            url = url or f"{self.base}/{region}/{service}"
            return {"interface": interface, "region": region, "region_id": region, "url": url}

        nowhere = f"http://127.0.0.1:{closed_port()}"
        network = [endpoint(region, "network") for region in ("RegionOne", "Pod1", "Pod2")]
        network += [endpoint("Pod1", "network", "internal", f"{nowhere}/internal")]
        network += [endpoint("Pod3", "network", url=f"{nowhere}/Pod3/network")]
        compute = [endpoint("Pod1", "compute"), endpoint("Pod1", "compute", "internal", nowhere)]
        return [
            {"type": "network", "name": "neutron", "id": "n", "endpoints": network},
            {"type": "compute", "name": "nova", "id": "c", "endpoints": compute},
        ]


class FakeHandler(BaseHTTPRequestHandler):
    """Answers by path: tokens, ``.../missing`` 404, ``.../boom`` 500, ``.../slow`` waits."""

    server: FakeCloud

    def log_message(self, *_args: object) -> None:
        """Keep test output quiet."""

    def _send(self, status: int, body: object = None, headers: dict | None = None) -> None:
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body))
        data = data.encode() if isinstance(data, str) else data
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _issue_token(self) -> None:
        self.server.token_requests += 1
        expires = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        token = {
            "methods": ["password"],
            "expires_at": expires,
            "issued_at": expires,
            "user": {"id": "u1", "name": "tricircle", "domain": {"id": "default", "name": "D"}},
            "project": {"id": "p1", "name": "service", "domain": {"id": "default", "name": "D"}},
            "roles": [{"id": "r1", "name": "admin"}],
            "catalog": self.server.catalog(),
        }
        self._send(201, {"token": token}, {"X-Subject-Token": TOKEN})

    def _handle(self) -> None:
        if self.path == "/identity/v3/auth/tokens":
            self._issue_token()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        if self.headers.get("X-Auth-Token") != TOKEN:
            self._send(401, {"error": {"code": 401, "message": "no token"}})
        elif self.path.endswith("/missing"):
            self._send(404, {"NeutronError": {"type": "NotFound", "message": "Network x gone"}})
        elif self.path.endswith("/refused"):
            self._send(409, {"conflictingRequest": {"code": 409, "message": "busy"}})
        elif self.path.endswith("/boom"):
            self._send(500, b"<html>Internal Server Error</html>")
        elif self.path.endswith("/not-json"):
            self._send(200, b"plain text")
        elif self.path.endswith("/flaky") and self.path not in self.server.flaky_seen:
            self.server.flaky_seen.add(self.path)
            self._send(503, {"error": {"message": "try again"}})
        elif self.path.endswith("/slow"):
            self.server.release_slow.wait(5)
            self._send(200, {})
        elif self.command == "DELETE":
            self._send(204)
        else:
            self._send(200, {"method": self.command, "path": self.path, "body": body})

    do_GET = do_POST = do_PUT = do_DELETE = _handle


@pytest.fixture
def cloud() -> Iterator[FakeCloud]:
    server = FakeCloud()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.release_slow.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def client_conf(cloud: FakeCloud) -> Iterator[cfg.ConfigOpts]:
    conf = cfg.ConfigOpts()
    for group, opts in tricircle_conf.list_opts():
        conf.register_opts(opts, group=group)
    conf([], project="tricircle", default_config_files=[])
    conf.set_override("auth_url", f"{cloud.base}/identity/v3", group="client")
    conf.set_override("password", "secret", group="client")
    conf.set_override("connect_timeout", 1.0, group="client")
    conf.set_override("read_timeout", 0.3, group="client")
    yield conf
    conf.reset()


@pytest.fixture
def clients(client_conf: cfg.ConfigOpts) -> PodClients:
    return PodClients.from_conf(client_conf)


def test_requests_go_to_the_pod_and_service_from_the_catalog(cloud, clients):
    pod1 = clients.client("Pod1", "network")
    assert pod1.get("/v2.0/networks", params={"name": "net1"}) == {
        "method": "GET",
        "path": "/Pod1/network/v2.0/networks?name=net1",
        "body": None,
    }
    assert clients.client("Pod2", "network").post("/v2.0/ports", json={"port": {}}) == {
        "method": "POST",
        "path": "/Pod2/network/v2.0/ports",
        "body": {"port": {}},
    }
    answer = clients.client("Pod1", "compute").put("/servers/s1", json={"server": {"name": "a"}})
    assert answer["path"] == "/Pod1/compute/servers/s1"
    assert clients.client("RegionOne", "network").endpoint() == f"{cloud.base}/RegionOne/network"
    assert clients.client("Pod1", "network").delete("/v2.0/ports/p1") is None


def test_one_token_serves_every_pod_and_adapters_are_cached(cloud, clients):
    assert clients.client("Pod1", "network") is clients.client("Pod1", "network")
    assert clients.client("Pod1", "network") is not clients.client("Pod2", "network")
    clients.client("Pod1", "network").get("/a")
    clients.client("Pod2", "network").get("/b")
    clients.client("Pod1", "compute").get("/c")
    assert cloud.token_requests == 1
    assert all(headers["X-Auth-Token"] == TOKEN for _, _, headers in cloud.requests)


def test_microversion_header_is_sent(cloud, clients):
    clients.client("Pod1", "compute").get("/servers", microversion="2.79")
    _, _, headers = cloud.requests[-1]
    assert headers["OpenStack-API-Version"] == "compute 2.79"


def test_client_error_carries_status_region_and_the_pods_message(clients):
    with pytest.raises(PodClientError) as raised:
        clients.client("Pod2", "network").get("/v2.0/networks/missing")
    error = raised.value
    assert (error.status, error.region_name, error.service_type) == (404, "Pod2", "network")
    assert error.pod_message == "Network x gone"
    assert error.error_type == "NotFound"
    assert "Pod2" in str(error)

    with pytest.raises(PodClientError) as raised:
        clients.client("Pod1", "compute").post("/servers/refused", json={})
    assert (raised.value.status, raised.value.pod_message) == (409, "busy")
    assert raised.value.error_type is None


def test_server_error_and_non_json_answers(clients):
    with pytest.raises(PodServerError) as raised:
        clients.client("Pod1", "network").get("/boom")
    assert (raised.value.status, raised.value.region_name) == (500, "Pod1")
    assert "Internal Server Error" in raised.value.pod_message

    with pytest.raises(PodServerError, match="not JSON"):
        clients.client("Pod1", "network").get("/not-json")


def test_refused_connection_is_unreachable(clients):
    with pytest.raises(PodUnreachable) as raised:
        clients.client("Pod3", "network").get("/v2.0/networks")
    assert raised.value.region_name == "Pod3"


def test_read_timeout_is_unreachable(cloud, clients):
    assert clients.timeout == (1.0, 0.3)
    with pytest.raises(PodUnreachable, match="timed out") as raised:
        clients.client("Pod1", "network").get("/slow")
    assert raised.value.region_name == "Pod1"


def test_unknown_region_or_service_is_not_found(clients):
    with pytest.raises(PodServiceNotFound) as raised:
        clients.client("Pod9", "network").get("/v2.0/networks")
    assert raised.value.region_name == "Pod9"
    with pytest.raises(PodServiceNotFound):
        clients.client("Pod2", "compute").endpoint()


def test_an_endpoint_override_replaces_the_catalogs_and_none_keeps_it(cloud, client_conf):
    """A subclass names some pods' endpoints itself; every other pod is looked up as before."""

    class KnownPods(PodClients):
        def endpoint_override(self, region_name: str, service_type: str) -> str | None:
            return f"{cloud.base}/Pod2/network" if region_name == "Pod9" else None

    known = KnownPods(make_session(client_conf), connect_timeout=1.0, read_timeout=0.3)
    assert known.client("Pod9", "network").get("/a")["path"] == "/Pod2/network/a"
    assert known.client("Pod1", "network").get("/b")["path"] == "/Pod1/network/b"
    assert PodClients.from_conf(client_conf).endpoint_override("Pod9", "network") is None


def test_endpoints_are_read_from_the_catalog_once_per_ttl(cloud, client_conf, monkeypatch):
    """keystoneauth copies the whole catalog per lookup: a pod call reuses the kept endpoint."""
    lookups: list[tuple[str, str]] = []
    catalog_endpoint = ksa_adapter.Adapter.get_endpoint

    def counted(self: ksa_adapter.Adapter, *args: object, **kwargs: object) -> str | None:
        lookups.append((self.region_name, self.service_type))
        return catalog_endpoint(self, *args, **kwargs)

    monkeypatch.setattr(ksa_adapter.Adapter, "get_endpoint", counted)
    client_conf.set_override("ttl", 7.0, group="gateway_cache")
    clients = PodClients.from_conf(client_conf)
    assert clients.endpoints.ttl == 7.0
    now = [0.0]
    clients.endpoints = TtlCache(10, 5.0, lambda: now[0])
    pod1 = clients.client("Pod1", "network")
    for path in ("/a", "/b"):
        assert pod1.get(path)["path"] == f"/Pod1/network{path}"
    assert pod1.endpoint() == f"{cloud.base}/Pod1/network"
    clients.client("Pod2", "network").get("/c")
    assert lookups == [("Pod1", "network"), ("Pod2", "network")]
    now[0] = 5.0
    pod1.get("/d")
    assert lookups[-1] == ("Pod1", "network") and len(lookups) == 3
    assert [path for _method, path, _headers in cloud.requests][-1] == "/Pod1/network/d"


def test_session_uses_the_service_identity(client_conf):
    pod_session = make_session(client_conf)
    assert isinstance(pod_session, session.Session)
    auth = pod_session.auth
    assert auth.auth_url.endswith("/identity/v3")
    [method] = auth.auth_methods
    assert (method.username, method.password) == ("tricircle", "secret")
    assert (auth.project_name, method.user_domain_name) == ("service", "Default")


def test_session_keeps_connections_to_every_pod(client_conf):
    """Connections are kept for many pod endpoints (requests keeps 10 by default, so a fan-out
    over more pods would reconnect every time), up to the pod-call pool's size per endpoint."""
    client_conf.set_override("pooled_endpoints", 300, group="client")
    client_conf.set_override("pod_call_workers", 40, group="gateway")
    pod_session = make_session(client_conf)
    for scheme in ("http://", "https://"):
        adapter = pod_session.session.get_adapter(f"{scheme}pod1.example")
        assert isinstance(adapter, session.TCPKeepAliveAdapter)
        assert adapter.poolmanager.pools._maxsize == 300
        assert adapter.poolmanager.connection_pool_kw["maxsize"] == 40


def test_a_pods_501_is_a_refusal_passed_on_not_a_failure():
    answer = requests.Response()
    answer.status_code = 501
    answer._content = b'{"notImplemented": {"code": 501, "message": "Virt driver lacks it."}}'
    with pytest.raises(PodClientError) as raised:
        raise_for_status("Pod1", "compute", answer)
    assert (raised.value.status, raised.value.fault_name) == (501, "notImplemented")
    assert raised.value.pod_message == "Virt driver lacks it."


@pytest.fixture
def bare_environment(monkeypatch, tmp_path) -> None:
    """No proxy, no netrc file, no CA bundle in the environment (HOME is an empty folder)."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name in ("NETRC", *CA_BUNDLE_VARIABLES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))


def test_the_ca_bundle_is_read_once_and_requests_stops_reading_the_environment(
    client_conf, bare_environment, monkeypatch
):
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/curl-bundle.pem")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/requests-bundle.pem")
    pod_session = make_session(client_conf)
    assert pod_session.verify == "/etc/requests-bundle.pem"
    assert pod_session.session.trust_env is False


def test_without_a_ca_bundle_the_default_store_verifies(client_conf, bare_environment):
    pod_session = make_session(client_conf)
    assert pod_session.verify is True
    assert pod_session.session.trust_env is False


def test_a_ca_file_set_on_the_session_is_kept(bare_environment, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/requests-bundle.pem")
    pod_session = session.Session(verify="/etc/tricircle/ca.pem")
    read_environment_once(pod_session)
    assert pod_session.verify == "/etc/tricircle/ca.pem"
    insecure = session.Session(verify=False)
    read_environment_once(insecure)
    assert insecure.verify is False


@pytest.mark.parametrize("variable", ["https_proxy", "HTTP_PROXY", "all_proxy"])
def test_a_proxy_in_the_environment_keeps_requests_reading_it_per_call(
    client_conf, bare_environment, monkeypatch, variable
):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/requests-bundle.pem")
    monkeypatch.setenv(variable, "http://proxy.example:3128")
    pod_session = make_session(client_conf)
    assert pod_session.session.trust_env is True
    assert pod_session.verify == "/etc/requests-bundle.pem"


def test_a_netrc_file_keeps_requests_reading_it_per_call(
    client_conf, bare_environment, monkeypatch, tmp_path
):
    (tmp_path / ".netrc").write_text("machine pod1.example login user password secret\n")
    assert make_session(client_conf).session.trust_env is True
    (tmp_path / ".netrc").unlink()
    monkeypatch.setenv("NETRC", str(tmp_path / "elsewhere"))
    assert make_session(client_conf).session.trust_env is True


def test_calls_work_with_the_environment_read_once(bare_environment, cloud, clients):
    assert clients.session.session.trust_env is False
    assert (
        clients.client("Pod1", "network").get("/v2.0/networks")["path"]
        == "/Pod1/network/v2.0/networks"
    )


def test_calls_go_through_a_proxy_named_in_the_environment(
    bare_environment, cloud, client_conf, monkeypatch
):
    monkeypatch.setenv("http_proxy", cloud.base)
    pod1 = PodClients.from_conf(client_conf).client("Pod1", "network")
    url = "http://pod1.invalid/v2.0/networks"
    assert pod1.send("GET", url, token=TOKEN).json()["path"] == url


@pytest.fixture
def caller_clients(bare_environment, client_conf) -> PodClients:
    """Clients where callers' calls take the lean transport (no proxy, no netrc)."""
    clients = PodClients.from_conf(client_conf)
    assert clients.transport is not None
    return clients


def test_callers_calls_skip_keystoneauth_and_send_what_it_would(
    cloud, caller_clients, client_conf, monkeypatch
):
    lean = caller_clients.client("Pod1", "compute")
    lean.endpoint()
    monkeypatch.setattr(lean.adapter, "request", None)
    assert lean.send("GET", "/servers", token=TOKEN).json()["path"] == "/Pod1/compute/servers"
    lean_requests = list(cloud.requests)
    cloud.requests.clear()
    plain = PodClients(make_session(client_conf), connect_timeout=1.0, read_timeout=0.3).client(
        "Pod1", "compute"
    )
    calls = [
        ("GET", "/servers/detail?all_tenants=1", {"name": ["a", "b"], "host": None}, None),
        ("POST", "/servers", None, {"server": {"name": "vm1", "min_count": 1}}),
        ("PUT", "/servers/s1", None, {"server": {"name": "\u00e9t\u00e9"}}),
        ("DELETE", "/servers/s1", None, None),
    ]
    for method, path, params, body in calls:
        answers = [
            client.send(
                method,
                path,
                params=params,
                json=body,
                token=TOKEN,
                microversion="2.79",
                headers={"X-OpenStack-Request-ID": "req-g"},
            )
            for client in (lean, plain)
        ]
        assert answers[0].status_code == answers[1].status_code
        assert answers[0].content == answers[1].content
        seen = cloud.requests[-2:]
        assert seen[0][:2] == seen[1][:2] == (method, seen[0][1])
        for name in (
            "X-Auth-Token",
            "OpenStack-API-Version",
            "X-OpenStack-Nova-API-Version",
            "X-OpenStack-Request-ID",
            "Content-Type",
            "Accept",
        ):
            assert seen[0][2].get(name) == seen[1][2].get(name), name
    assert cloud.requests[0][1] == "/Pod1/compute/servers/detail?all_tenants=1&name=a&name=b"
    assert cloud.requests[0][2]["OpenStack-API-Version"] == "compute 2.79"
    assert lean_requests[0][2]["X-Auth-Token"] == TOKEN


def test_callers_calls_fail_as_keystoneauths_do(cloud, caller_clients):
    pod1 = caller_clients.client("Pod1", "network")
    with pytest.raises(PodClientError) as raised:
        pod1.request("GET", "/v2.0/networks/missing")
    assert (raised.value.status, raised.value.error_type) == (404, "NotFound")
    with pytest.raises(PodServerError, match="Internal Server Error"):
        pod1.request("GET", "/boom")
    with pytest.raises(PodServerError, match="not JSON"):
        pod1.request("GET", "/not-json")
    with pytest.raises(PodUnreachable, match="timed out"):
        pod1.send("GET", "/slow", token=TOKEN)
    with pytest.raises(PodUnreachable) as raised:
        caller_clients.client("Pod3", "network").send("GET", "/v2.0/networks", token=TOKEN)
    assert raised.value.region_name == "Pod3"


def test_callers_idempotent_calls_are_retried_once_and_writes_are_not(cloud, caller_clients):
    pod1 = caller_clients.client("Pod1", "network")
    assert pod1.send("GET", "/a/flaky", token=TOKEN).status_code == 200
    assert [path for _, path, _ in cloud.requests] == ["/Pod1/network/a/flaky"] * 2
    assert pod1.send("POST", "/b/flaky", token=TOKEN).status_code == 503
    assert pod1.send("GET", "/c/flaky", token=TOKEN, timeout=1.0).status_code == 503
    assert len(cloud.requests) == 4


def test_a_proxy_or_a_netrc_keeps_callers_calls_on_keystoneauth(
    bare_environment, client_conf, monkeypatch
):
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    assert PodClients.from_conf(client_conf).transport is None
