"""What every API app shares: its state, transactions, the bottom pods and the request hooks.

Each app keeps its dependencies (configuration, database sessions, policy, pods) in one object
under ``EXTENSION``. oslo.middleware's ``RequestId`` gives every request an ID, answered in
``x-openstack-request-id`` (and Nova's ``x-compute-request-id``); the hooks give it the caller's
context, URL checks, the negotiated microversion (gateways) and one structured access-log line.

A request whose answer is one pod's (``answer_as_pod``: a call forwarded to the pod holding the
resource) is answered with the pod's request ID instead, the ID the pod records things under
(Nova's instance actions), so the caller can use it with the pod's APIs; the access-log line
names both IDs and the pod, and the pod logs the gateway's ID as the global request ID.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from flask import Blueprint, Flask, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from oslo_config import cfg
from oslo_middleware import request_id
from oslo_policy import policy as oslo_policy
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.sansio.utils import get_current_url

from tricircle.api import auth, validation
from tricircle.api.errors import BadRequest, NotFound
from tricircle.api.microversions import ApiVersions, Microversion
from tricircle.api.podcalls import Caller, CallerPodCalls
from tricircle.api.request_limits import RequestLimits
from tricircle.cache import Clock, TtlCache
from tricircle.db import pods as pod_queries
from tricircle.db import routings
from tricircle.db.engine import engine_from_conf, make_session_factory
from tricircle.db.models import Pod
from tricircle.db.routings import ResourceType
from tricircle.pods.client import PodClients
from tricircle.pods.fanout import PodCallPool, shared_pool
from tricircle.pods.lister import Continuations
from tricircle.pods.scheduler import PodScheduler, make_scheduler
from tricircle.pods.versions import PodVersions
from tricircle.quotas.engine import QuotaEngine

EXTENSION = "tricircle.api"
REQUEST_ID_HEADER = request_id.HTTP_RESP_HEADER_REQUEST_ID
URL_PROJECT_ENV = "tricircle.url_project_id"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
State = TypeVar("State", bound="GatewayState")
BOTTOM_PODS = "bottom"
ALL_PROJECTS = "*"
RECENT_NETWORKS_TTL = 600.0
LIST_CONTINUATIONS = 1024


class AppState(Protocol):
    """What every app's state has: its database sessions."""

    session_factory: sessionmaker[Session]


@dataclass
class GatewayCaches:
    """One gateway process's caches, each bounded by ``[gateway_cache]`` (``max_entries``,
    ``ttl``): nothing is served longer than ``ttl`` after it was read, so a change made through
    any other process is seen by this one within ``ttl``."""

    # BOTTOM_PODS -> the bottom pods as the database held them (no tenant data).
    pods: TtlCache[str, tuple[Pod, ...]]
    # Top network ID -> its name (None: no top network), read with the service identity.
    top_network_names: TtlCache[str, str | None]
    # Top network ID -> the network, read with the service identity, for the ports of boots and
    # attaches (each caller's own visibility is checked on it every time, never cached).
    top_networks: TtlCache[str, dict[str, Any]]
    # (resource type, top ID, project the caller is limited to, None for an admin) -> the pod
    # its routing names (``routed_pod``): servers, volumes, snapshots and the other resources
    # living in one pod under their pod's ID.
    routed_pods: TtlCache[tuple[str, str, str | None], Pod]
    # (pod ID, bottom volume type ID) -> the top type it copies (None: none, a pod's own type).
    top_type_ids: TtlCache[tuple[str, str], str | None]
    # List scope (project ID, or ALL_PROJECTS) -> IDs of the networks its last list showed:
    # what to read ahead, kept RECENT_NETWORKS_TTL; serves no data by itself.
    recent_networks: TtlCache[str, frozenset[str]]
    # What each server or volume list page learnt at its end (``pods.lister``: the last
    # record's sort values and pod, the pods holding nothing after it), for the request naming
    # that record as marker with the same caller and query (``list_scope``); at most
    # LIST_CONTINUATIONS. Kept for ``ttl``: a record entering a pod's range after the page within
    # that time is not seen by the next page, as with any paged listing that changes between
    # pages; other processes simply miss.
    list_continuations: Continuations

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts, clock: Clock) -> GatewayCaches:
        """Empty caches sized and timed by ``conf``'s ``[gateway_cache]``."""
        size, ttl = conf.gateway_cache.max_entries, conf.gateway_cache.ttl
        return cls(
            TtlCache(size, ttl, clock),
            TtlCache(size, ttl, clock),
            TtlCache(size, ttl, clock),
            TtlCache(size, ttl, clock),
            TtlCache(size, ttl, clock),
            TtlCache(size, RECENT_NETWORKS_TTL if ttl else 0.0, clock),
            TtlCache(min(size, LIST_CONTINUATIONS), ttl, clock),
        )


@dataclass
class GatewayState:
    """What both gateways hold: configuration, database, policy, the pods, their versions, the
    calls to them as the caller, the process's pool of threads calling pods at once, the
    scheduler (new bindings only where the service answers) and the quota engine.
    """

    conf: cfg.ConfigOpts
    session_factory: sessionmaker[Session]
    enforcer: oslo_policy.Enforcer
    pod_clients: PodClients
    pod_versions: PodVersions
    api_versions: ApiVersions
    clock: Clock = time.monotonic
    calls: CallerPodCalls = field(init=False)
    pod_pool: PodCallPool = field(init=False)
    scheduler: PodScheduler = field(init=False)
    caches: GatewayCaches = field(init=False)

    def __post_init__(self) -> None:
        service_type = self.api_versions.pod_service_type
        self.caches = GatewayCaches.from_conf(self.conf, self.clock)
        self.calls = CallerPodCalls(self.pod_clients, service_type)
        self.pod_pool = shared_pool(self.conf.gateway.pod_call_workers)
        self.scheduler = make_scheduler(
            self.conf,
            self.session_factory,
            pool=self.pod_pool,
            reachable=lambda pod: self.pod_versions.reachable(pod.region_name, service_type),
        )

    @property
    def quotas(self) -> QuotaEngine:
        """The quota engine over this state's database and pods."""
        return QuotaEngine(self.conf, self.session_factory, self.pod_clients, self.pod_pool)


@dataclass(frozen=True)
class Overrides:
    """What tests and benchmarks give a gateway instead of what its configuration names."""

    session_factory: sessionmaker[Session] | None = None
    pod_clients: PodClients | None = None
    pod_versions: PodVersions | None = None
    clock: Clock | None = None


def gateway_app(
    import_name: str,
    state_type: type[State],
    conf: cfg.ConfigOpts,
    api_versions: ApiVersions,
    enforcer: oslo_policy.Enforcer,
    *,
    versions_ttl: float,
    overrides: Overrides | None,
) -> Flask:
    """A gateway's Flask app holding its state, configured from ``conf`` (the global CONF when
    the app is made without one); what ``overrides`` does not give (tests do) is made from
    ``conf``: ``[database] connection``, ``[client]``'s identity, as production runs it."""
    overrides = overrides or Overrides()
    session_factory = overrides.session_factory or make_session_factory(
        engine_from_conf(conf.database)
    )
    pod_clients = overrides.pod_clients or PodClients.from_conf(conf)
    pod_versions = overrides.pod_versions or PodVersions(pod_clients, versions_ttl)
    app = Flask(import_name)
    app.json.sort_keys = False
    app.url_map.strict_slashes = False
    app.extensions[EXTENSION] = state_type(
        conf=conf,
        session_factory=session_factory,
        enforcer=enforcer,
        pod_clients=pod_clients,
        pod_versions=pod_versions,
        api_versions=api_versions,
        clock=overrides.clock or time.monotonic,
    )
    return app


def route_lists(
    blueprint: Blueprint, path: str, render: Callable[[bool], ResponseReturnValue]
) -> None:
    """``GET path`` (summaries) and ``GET path/detail`` (in full), by ``render(detail)``."""
    name = path.strip("/").replace("/", "_")
    blueprint.add_url_rule(path, f"{name}_list", lambda: render(False), methods=["GET"])
    blueprint.add_url_rule(
        f"{path}/detail", f"{name}_detail", lambda: render(True), methods=["GET"]
    )


def app_state() -> Any:
    """The state of the app serving the current request (each API types its own)."""
    return current_app.extensions[EXTENSION]


@contextmanager
def transaction() -> Iterator[Session]:
    """A session inside one transaction, committed when the block ends without error."""
    state: AppState = app_state()
    with state.session_factory() as session, session.begin():
        yield session


def bottom_pods() -> list[Pod]:
    """Every bottom pod (not the top one, RegionOne), ordered by region.

    Read once per request (``g``) and at most once per ``[gateway_cache] ttl`` per process: a
    pod added, changed (disabled, its AZ renamed) or removed through the admin API is seen by
    every gateway worker within the TTL. The pods hold no tenant data.
    """
    if "bottom_pods" not in g:
        state: GatewayState = app_state()
        g.bottom_pods = state.caches.pods.get_or_load(BOTTOM_PODS, _read_bottom_pods)
    return list(g.bottom_pods)


def _read_bottom_pods() -> tuple[Pod, ...]:
    """The bottom pods as the database holds them now."""
    with transaction() as session:
        return tuple(pod for pod in pod_queries.list_pods(session) if not pod.is_top)


def routed_pod(top_id: str, resource_type: ResourceType, *, owner_only: bool) -> Pod | None:
    """The pod a routing names for ``top_id`` (with ``owner_only``, only a routing of the
    caller's project unless the caller is an admin), or None; no query while cached.

    Found pods are kept per (type, ID, the project a non-admin caller is limited to), so one
    project's lookup never answers another's; an unknown ID is not kept (a create through
    another worker is seen at once). Invalidation: callers ``forget_routed_pod`` what they see
    gone; a routing dropped, moved to another pod or given to another project through any
    other process is seen by this one within ``[gateway_cache] ttl`` (meanwhile calls still go
    to the old pod with the caller's token, and that pod answers for itself).
    """
    scope = _caller_scope()
    key = (str(resource_type), top_id, scope)
    cache = app_state().caches.routed_pods
    found = cache.get_many([key])
    if key in found:
        return found[key]
    with transaction() as session:
        pod = routings.routed_pod(
            session, top_id, resource_type, project_id=scope if owner_only else None
        )
    if pod is not None:
        cache.put_many({key: pod})
    return pod


def remember_routed_pod(top_id: str, resource_type: ResourceType, pod: Pod) -> None:
    """Keep ``pod`` as where ``top_id`` lives for the caller (its routing was just recorded)."""
    app_state().caches.routed_pods.put_many({(str(resource_type), top_id, _caller_scope()): pod})


def forget_routed_pod(top_id: str, resource_type: ResourceType) -> None:
    """Drop this process's pod of ``top_id`` for the caller's project and for admins."""
    cache = app_state().caches.routed_pods
    for scope in (None, caller().project_id):
        cache.forget((str(resource_type), top_id, scope))


def _caller_scope() -> str | None:
    """The project the caller is limited to, None for an admin."""
    who = caller()
    return None if who.is_admin else who.project_id


def list_scope(who: Caller) -> tuple[Hashable, ...]:
    """Whose list this is and how it was asked, for the lister's continuations: the caller's
    project, user, admin role and microversion, the path and the query without ``marker``."""
    query = tuple(
        (name, value) for name, value in request.args.items(multi=True) if name != "marker"
    )
    return (who.project_id, who.user_id, who.is_admin, who.microversion, request.path, query)


def served_maximum() -> Microversion:
    """The highest microversion the current gateway serves: its own, lowered to every pod's."""
    state: GatewayState = app_state()
    service_type = state.api_versions.pod_service_type
    return state.api_versions.served_maximum(
        state.pod_versions.maximum(pod.region_name, service_type) for pod in bottom_pods()
    )


# (scheme, host) pairs whose root URL is kept: the names the gateway is reached by (the Host
# header is the caller's, so the bound keeps made-up names from growing it).
ROOTS_KEPT = 64


def root_url() -> str:
    """``scheme://host[:port]`` of the gateway as the caller reached it, without a slash."""
    return _root_url(request.scheme, request.host)


@functools.lru_cache(maxsize=ROOTS_KEPT)
def _root_url(scheme: str, host: str) -> str:
    """``scheme://host`` as werkzeug's ``request.host_url`` makes it (an IRI), without its
    slash; kept per (scheme, host), as making it costs more than rewriting an answer's links."""
    return get_current_url(scheme, host).rstrip("/")


def caller() -> Caller:
    """The caller of the current request, at its negotiated microversion."""
    context = g.context
    return Caller(
        token=request.headers.get("X-Auth-Token", ""),
        microversion=g.microversion,
        project_id=context.project_id or "",
        user_id=context.user_id or "",
        is_admin="admin" in (context.roles or []),
        global_request_id=context.global_request_id or g.request_id,
    )


def answer_as_pod(region_name: str, pod_request_id: str | None) -> None:
    """The current request's answer is the one ``region_name`` gave under ``pod_request_id``:
    the caller gets that ID (a pod that gave none leaves the gateway's)."""
    if pod_request_id:
        g.pod_answer = (region_name, pod_request_id)


@dataclass(frozen=True)
class Negotiation:
    """How a gateway serves microversions: its rules, its current maximum, the paths they cover."""

    versions: ApiVersions
    maximum: Callable[[], Microversion]
    covers: Callable[[str], bool]


def with_request_ids(wsgi_app: Callable[..., Any], compat_headers: Sequence[str] = ()) -> Any:
    """``wsgi_app`` behind oslo.middleware's RequestId, also answering ``compat_headers``."""
    middleware = request_id.RequestId(wsgi_app)
    middleware.compat_headers = list(compat_headers)
    return middleware


def with_open_versions(
    open_app: WsgiApp,
    protected_app: WsgiApp,
    prefix: str,
    version_paths: frozenset[str],
    *,
    keep_url_project: bool,
) -> WsgiApp:
    """Version documents (``version_paths``) to ``open_app`` without a token, the rest to
    ``protected_app``; ``<prefix>/<project_id>/...`` (the old URL form) is served as
    ``<prefix>/...``, its project ID kept for ``_check_url_project`` if ``keep_url_project``."""
    project_in_path = re.compile(rf"^{re.escape(prefix)}/([0-9a-f]{{32}}|[0-9a-f-]{{36}})(?=/|$)")

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        found = project_in_path.match(path)
        if found is not None:
            path = prefix + path[found.end() :]
            if keep_url_project:
                environ[URL_PROJECT_ENV] = found.group(1)
        environ["PATH_INFO"] = path
        chosen = open_app if path in version_paths else protected_app
        return chosen(environ, start_response)

    return dispatch


def _check_url_project() -> None:
    """Nova's 400 when the project ID in the URL is not the token's project."""
    url_project = request.environ.get(URL_PROJECT_ENV)
    if url_project is not None and url_project != g.context.project_id:
        raise BadRequest(
            f"Malformed request URL: URL's project_id '{url_project}' doesn't match Context's "
            f"project_id '{g.context.project_id}'"
        )


def install_request_hooks(
    app: Flask,
    access_log: logging.Logger,
    limits: RequestLimits,
    *,
    negotiation: Negotiation | None = None,
    request_id_headers: Sequence[str] = (),
) -> None:
    """Hooks run around every request of ``app`` (wrapped by ``with_request_ids`` answering
    ``request_id_headers`` too, where a pod's ID replaces the gateway's: ``answer_as_pod``).

    ``limits`` are checked first (the body is read no further than they allow). With
    ``negotiation``, a request on a covered path gets ``g.microversion`` and its response the
    headers announcing it, and a covered path ending in ``/`` (``/servers/``: an empty ID) is the
    upstream's 404, never the collection.
    """
    app.config["MAX_CONTENT_LENGTH"] = limits.max_body_bytes
    app.config[validation.JSON_DEPTH_CONFIG] = limits.max_json_depth

    def start() -> None:
        g.started = time.monotonic()
        g.request_id = request.environ[request_id.ENV_REQUEST_ID]
        g.context = auth.request_context(request.environ, g.request_id)
        limits.check(request)
        validation.check_url(request.path, request.args)
        _check_url_project()
        if negotiation is not None and negotiation.covers(request.path):
            if request.path.endswith("/"):
                raise NotFound("The resource could not be found.")
            g.microversion = negotiation.versions.negotiate(request.headers, negotiation.maximum())

    def finish(response: Response) -> Response:
        if negotiation is not None and "microversion" in g:
            response.headers.update(negotiation.versions.response_headers(g.microversion))
        fields = {
            "request_id": g.request_id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.monotonic() - g.started) * 1000, 1),
            "project_id": g.context.project_id,
            "user_id": g.context.user_id,
            "remote_addr": request.remote_addr,
        }
        if "microversion" in g:
            fields["microversion"] = str(g.microversion)
        if "pod_answer" in g:
            fields["pod"], fields["pod_request_id"] = g.pod_answer
            for header in (REQUEST_ID_HEADER, *request_id_headers):
                response.headers[header] = g.pod_answer[1]
        access_log.info(
            " ".join(f"{key}=%({key})s" for key in fields), fields, extra={"tricircle": fields}
        )
        return response

    app.before_request(start)
    app.after_request(finish)
