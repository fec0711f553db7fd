"""Clients that reach each pod's services with Tricircle's own service identity.

One keystoneauth Session per identity (token fetch and refresh, the catalog), one Adapter per
(pod region, service type) found in that catalog, explicit connect/read timeouts, and typed
errors naming the pod: PodUnreachable, PodClientError (4xx), PodServerError (5xx). An idempotent
call whose pooled connection was reset (or that could not connect), or that a proxy answered
with 502/503/504, is sent once more through keystoneauth's own ``connect_retries`` and
``status_code_retries``; a write, or a call bounded by its own deadline, is not.

keystoneauth copies the whole catalog on every endpoint lookup (milliseconds with a few pods), so
each (region, service)'s endpoint is kept in a bounded per-process cache and requests are sent to
absolute URLs. Invalidation: the TTL alone (``[gateway_cache] ttl``): an endpoint changed in
Tricircle's catalog is used within that bound of keystoneauth seeing the new catalog.

requests reads the environment (proxies, netrc, the CA bundle) on every call; the session takes
the CA bundle once and, where no proxy and no netrc file is configured, turns that per-call
reading off (``read_environment_once``): the environment is the one the session was made in.
There, calls made with a caller's token skip keystoneauth and requests altogether
(``transport.LeanTransport``): they need neither the service identity nor the catalog.
"""

from __future__ import annotations

import os
import threading
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from keystoneauth1 import adapter, session
from keystoneauth1 import exceptions as ksa_exceptions
from keystoneauth1.identity import v3
from oslo_config import cfg
from requests.utils import NETRC_FILES

from tricircle.cache import TtlCache
from tricircle.pods.transport import (
    HttpAnswer,
    LeanTransport,
    TransportError,
    microversion_headers,
    with_query,
)

MESSAGE_LIMIT = 500
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRIES = 1
RETRY_DELAY = 0.1
RETRIED_STATUSES = [502, 503, 504]
# Where requests looks for a CA bundle when verifying, in its order.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class PodCallError(Exception):
    """A call to a pod's service failed; names the pod's region and the service."""

    def __init__(self, region_name: str, service_type: str, message: str) -> None:
        super().__init__(f"{service_type} in {region_name}: {message}")
        self.region_name = region_name
        self.service_type = service_type
        self.message = message


class PodUnreachable(PodCallError):
    """The service did not answer: connection refused, reset or timed out."""


class PodServiceNotFound(PodCallError):
    """The catalog has no endpoint for this service in this region."""


class PodHttpError(PodCallError):
    """The service answered with an error status; carries it, the pod's message, fault name and
    Neutron's error type (``SecurityGroupRuleExists``, ``OverQuota``...) where it gave one."""

    def __init__(
        self,
        region_name: str,
        service_type: str,
        status: int,
        message: str,
        fault_name: str | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(region_name, service_type, f"HTTP {status}: {message}")
        self.status = status
        self.pod_message = message
        self.fault_name = fault_name
        self.error_type = error_type


class PodClientError(PodHttpError):
    """The pod refused the request (4xx, or 501: it does not implement what was asked)."""


class PodServerError(PodHttpError):
    """The pod failed on the request (5xx), or answered something that is not JSON."""


# A pod that could not serve the request at all: no endpoint, no answer, or its own failure.
POD_FAILURES: tuple[type[PodCallError], ...] = (PodServiceNotFound, PodUnreachable, PodServerError)


def make_session(conf: cfg.ConfigOpts) -> session.Session:
    """A keystoneauth Session for Tricircle's service identity from ``[client]``, keeping
    connections to ``[client] pooled_endpoints`` endpoints and up to ``[gateway]
    pod_call_workers`` per endpoint (requests' defaults, 10 and 10, would close and reopen
    connections on every fan-out over more than ten pods)."""
    client = conf.client
    auth = v3.Password(
        auth_url=client.auth_url,
        username=client.username,
        password=client.password,
        project_name=client.project_name,
        user_domain_name=client.user_domain_name,
        project_domain_name=client.project_domain_name,
    )
    pod_session = session.Session(auth=auth)
    pooled = session.TCPKeepAliveAdapter(
        pool_connections=client.pooled_endpoints, pool_maxsize=conf.gateway.pod_call_workers
    )
    for scheme in ("https://", "http://"):
        pod_session.mount(scheme, pooled)
    read_environment_once(pod_session)
    return pod_session


def read_environment_once(pod_session: session.Session) -> None:
    """Take once what requests would read from the environment on each call (``trust_env``).

    The CA bundle it would use (``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``) becomes the
    session's ``verify`` unless that already names a CA file or turns checks off. The per-call
    scan is switched off only when no proxy and no netrc file is configured; otherwise requests
    keeps reading both on every call, as it did.
    """
    if pod_session.verify is True:
        bundle = next(
            (os.environ[name] for name in CA_BUNDLE_VARIABLES if os.environ.get(name)), None
        )
        if bundle is not None:
            pod_session.verify = bundle
    if not urllib.request.getproxies() and not _netrc_configured():
        pod_session.session.trust_env = False


def _netrc_configured() -> bool:
    """True if requests would look in a netrc file (``NETRC``, ``~/.netrc`` or ``~/_netrc``)."""
    return "NETRC" in os.environ or any(
        os.path.exists(os.path.expanduser(f"~/{name}")) for name in NETRC_FILES
    )


def pod_message(response: HttpAnswer) -> str:
    """The human message in an error body, in any OpenStack dialect, else the raw text."""
    return pod_fault(response)[1]


def pod_fault(response: HttpAnswer) -> tuple[str | None, str]:
    """The fault name (``{"<name>": {"message": ...}}`` bodies only) and message of an error."""
    try:
        body = response.json()
    except ValueError:
        return None, response.text.strip()[:MESSAGE_LIMIT] or response.reason or ""
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return None, body["message"]
        for name, value in body.items():
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return (name if len(body) == 1 and name != "error" else None), value["message"]
    return None, str(body)[:MESSAGE_LIMIT]


def raise_for_status(region_name: str, service_type: str, response: HttpAnswer) -> None:
    """PodServerError for a 5xx answer, PodClientError for a 4xx or 501 one; nothing otherwise."""
    status = response.status_code
    if status < 400:
        return
    fault_name, message = pod_fault(response)
    error = PodServerError if status >= 500 and status != 501 else PodClientError
    raise error(
        region_name, service_type, status, message, fault_name, neutron_error_type(response)
    )


def neutron_error_type(response: HttpAnswer) -> str | None:
    """The ``type`` of a ``{"NeutronError": {"type": ...}}`` body; None for any other body."""
    try:
        body = response.json()
    except ValueError:
        return None
    fault = body.get("NeutronError") if isinstance(body, dict) else None
    kind = fault.get("type") if isinstance(fault, dict) else None
    return kind if isinstance(kind, str) else None


def json_or_none(response: HttpAnswer) -> Any:
    """The JSON body of a response, or None when it is empty or not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


Endpoints = TtlCache[tuple[str, str], str]


class PodClient:
    """One service of one pod: JSON requests through a region-bound keystoneauth Adapter, to
    its endpoint as ``endpoints`` keeps it (none given: read from the catalog on every call);
    calls with a caller's token through ``transport`` when one is given."""

    def __init__(
        self,
        pod_adapter: adapter.Adapter,
        timeout: tuple[float, float],
        endpoints: Endpoints | None = None,
        transport: LeanTransport | None = None,
    ) -> None:
        self.adapter = pod_adapter
        self.timeout = timeout
        self._endpoints = endpoints if endpoints is not None else TtlCache(1, 0.0)
        self._transport = transport

    @property
    def region_name(self) -> str:
        """The pod's Keystone region."""
        return self.adapter.region_name

    @property
    def service_type(self) -> str:
        """The catalog service type this client calls."""
        return self.adapter.service_type

    def endpoint(self) -> str:
        """The service's URL from the catalog (kept while fresh); raises PodServiceNotFound."""
        return self._endpoints.get_or_load(
            (self.region_name, self.service_type), self._catalog_endpoint
        )

    def _catalog_endpoint(self) -> str:
        """The service's URL as the catalog names it now."""
        try:
            url = self.adapter.get_endpoint()
        except ksa_exceptions.EndpointNotFound as exc:
            raise PodServiceNotFound(self.region_name, self.service_type, str(exc)) from exc
        if url is None:
            raise PodServiceNotFound(self.region_name, self.service_type, "no endpoint")
        return url

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        microversion: str | None = None,
        token: str | None = None,
        timeout: float | tuple[float, float] | None = None,
    ) -> HttpAnswer:
        """Send a request and return the raw response, whatever its status.

        With ``token`` the call is made as that token's owner (sent as X-Auth-Token) while the
        endpoint still comes from Tricircle's own catalog. Raises PodServiceNotFound or
        PodUnreachable when no answer can be had. An idempotent ``method`` without its own
        ``timeout`` is retried once on a connection failure or a 502/503/504.
        """
        headers = {**(headers or {}), **({} if token is None else {"X-Auth-Token": token})}
        retried = method.upper() in IDEMPOTENT_METHODS and timeout is None
        url = path if urlsplit(path).netloc else f"{self.endpoint().rstrip('/')}/{path.lstrip('/')}"
        if token is not None and self._transport is not None:
            if microversion is not None:
                headers.update(microversion_headers(self.service_type, microversion))
            try:
                return self._transport.send(
                    method.upper(),
                    with_query(url, params),
                    body=json,
                    headers=headers,
                    timeout=self.timeout if timeout is None else timeout,
                    retries=RETRIES if retried else 0,
                    retry_delay=RETRY_DELAY,
                    retried_statuses=RETRIED_STATUSES,
                )
            except TransportError as exc:
                raise PodUnreachable(self.region_name, self.service_type, str(exc)) from exc
        try:
            return self.adapter.request(
                url,
                method,
                json=json,
                params=params,
                headers=headers,
                authenticated=None if token is None else False,
                microversion=microversion,
                timeout=self.timeout if timeout is None else timeout,
                connect_retries=RETRIES if retried else 0,
                connect_retry_delay=RETRY_DELAY,
                status_code_retries=RETRIES if retried else 0,
                status_code_retry_delay=RETRY_DELAY,
                retriable_status_codes=RETRIED_STATUSES,
                raise_exc=False,
            )
        except ksa_exceptions.EndpointNotFound as exc:
            raise PodServiceNotFound(self.region_name, self.service_type, str(exc)) from exc
        except ksa_exceptions.ConnectionError as exc:
            raise PodUnreachable(self.region_name, self.service_type, str(exc)) from exc

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        microversion: str | None = None,
    ) -> Any:
        """Send a request; the decoded JSON answer, or None for an empty one."""
        response = self.send(
            method, path, json=json, params=params, headers=headers, microversion=microversion
        )
        return self._decoded(response)

    def _decoded(self, response: HttpAnswer) -> Any:
        """The JSON of a successful response; the typed error of a failed one."""
        raise_for_status(self.region_name, self.service_type, response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise PodServerError(
                self.region_name, self.service_type, response.status_code, "the answer is not JSON"
            ) from exc

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET ``path``; its JSON."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """POST ``json`` to ``path``; the JSON answer."""
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """PUT ``json`` to ``path``; the JSON answer."""
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        """DELETE ``path``; the JSON answer, usually None."""
        return self.request("DELETE", path, **kwargs)


class PodClients:
    """Clients of every pod's services over one Session, made once per (region, service)."""

    def __init__(
        self,
        pod_session: session.Session,
        *,
        connect_timeout: float,
        read_timeout: float,
        interface: str = "public",
        endpoints: Endpoints | None = None,
        transport: LeanTransport | None = None,
    ) -> None:
        self.session = pod_session
        self.timeout = (connect_timeout, read_timeout)
        self.interface = interface
        self.endpoints = endpoints if endpoints is not None else TtlCache(1, 0.0)
        self.transport = transport
        self._clients: dict[tuple[str, str], PodClient] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> PodClients:
        """Clients using ``[client]``'s identity and timeouts, endpoints kept as
        ``[gateway_cache]`` bounds; callers' calls on the lean transport where requests would
        read nothing more from the environment and send no client certificate."""
        pod_session = make_session(conf)
        transport = None
        if not pod_session.session.trust_env and pod_session.cert is None:
            transport = LeanTransport(
                pod_session.verify, conf.client.pooled_endpoints, conf.gateway.pod_call_workers
            )
        return cls(
            pod_session,
            connect_timeout=conf.client.connect_timeout,
            read_timeout=conf.client.read_timeout,
            endpoints=TtlCache(conf.gateway_cache.max_entries, conf.gateway_cache.ttl),
            transport=transport,
        )

    def endpoint_override(self, region_name: str, service_type: str) -> str | None:
        """A fixed URL of ``service_type`` in ``region_name`` instead of the catalog's; None
        (always, here) reads the catalog. Subclasses that know their pods override it."""
        return None

    def client(self, region_name: str, service_type: str) -> PodClient:
        """The client of ``service_type`` (``network``, ``compute``, ...) in ``region_name``."""
        key = (region_name, service_type)
        with self._lock:
            if key not in self._clients:
                pod_adapter = adapter.Adapter(
                    self.session,
                    service_type=service_type,
                    region_name=region_name,
                    interface=self.interface,
                    endpoint_override=self.endpoint_override(region_name, service_type),
                )
                self._clients[key] = PodClient(
                    pod_adapter, self.timeout, self.endpoints, self.transport
                )
            return self._clients[key]
