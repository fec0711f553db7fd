"""The Nova API gateway's WSGI app: Nova v2.1 paths under ``/v2.1``, behind auth_token.

Every request under ``/v2.1/`` gets its microversion negotiated before the view runs; every
response carries the version served and a request ID, and one structured access-log line.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, request
from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle.api import auth, gateway
from tricircle.api.compute import (
    availability_zones,
    faults,
    flavors,
    images,
    interfaces,
    keypairs,
    limits,
    microversion,
    policy,
    server_actions,
    servers,
    versions,
    volume_attachments,
)
from tricircle.api.compute.state import EXTENSION, ComputeState, PodVersions
from tricircle.conf import CONF
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.pods.client import PodClients

ACCESS_LOG = logging.getLogger("tricircle.api.compute.access")
API_PREFIX = "/v2.1"
REQUEST_ID_HEADERS = ("X-OpenStack-Request-ID", "X-Compute-Request-ID")


def create_app(
    conf: cfg.ConfigOpts | None = None,
    session_factory: sessionmaker[Session] | None = None,
    pod_clients: PodClients | None = None,
    pod_versions: PodVersions | None = None,
) -> Flask:
    """The gateway configured from ``conf`` (the global CONF by default).

    ``session_factory`` defaults to one on ``[database] connection``, ``pod_clients`` to
    Tricircle's service identity from ``[client]``; tests pass their own.
    """
    conf = conf if conf is not None else CONF
    if session_factory is None:
        session_factory = make_session_factory(make_engine(conf.database.connection))
    if pod_clients is None:
        pod_clients = PodClients.from_conf(conf)
    if pod_versions is None:
        pod_versions = PodVersions(pod_clients, conf.compute.pod_versions_ttl)
    app = Flask(__name__)
    app.json.sort_keys = False
    app.url_map.strict_slashes = False
    app.extensions[EXTENSION] = ComputeState(
        conf=conf,
        session_factory=session_factory,
        enforcer=policy.make_enforcer(conf),
        pod_clients=pod_clients,
        pod_versions=pod_versions,
    )
    app.register_blueprint(versions.blueprint)
    for module in (
        servers,
        server_actions,
        interfaces,
        volume_attachments,
        flavors,
        keypairs,
        images,
        availability_zones,
        limits,
    ):
        app.register_blueprint(module.blueprint, url_prefix=API_PREFIX)
    faults.NOVA.register(app)
    gateway.install_request_hooks(
        app,
        ACCESS_LOG,
        request_id_headers=REQUEST_ID_HEADERS,
        on_start=_negotiate_microversion,
        on_finish=_announce_microversion,
    )
    app.wsgi_app = auth.wrap_with_auth(app.wsgi_app, conf)
    return app


def _negotiate_microversion() -> None:
    """Under /v2.1/, the microversion served (None for the version documents)."""
    g.microversion = None
    if request.path.rstrip("/") != API_PREFIX and request.path.startswith(API_PREFIX + "/"):
        asked = microversion.requested(request.headers)
        g.microversion = microversion.negotiate(asked, versions.maximum_version())


def _announce_microversion(response: Response) -> None:
    """The version served, in Nova's headers."""
    if g.get("microversion") is not None:
        response.headers.update(microversion.response_headers(g.microversion))
