"""The Nova API gateway's WSGI app: Nova v2.1 paths under ``/v2.1``, behind auth_token.

Every request under ``/v2.1/`` gets its microversion negotiated before the view runs; every
response carries the version served and a request ID (also as ``x-compute-request-id``), and one
structured access-log line.
"""

from __future__ import annotations

import logging

from flask import Flask
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
    policy,
    server_actions,
    servers,
    versions,
    volume_attachments,
)
from tricircle.api.compute.state import EXTENSION, ComputeState
from tricircle.api.microversions import COMPUTE
from tricircle.conf import CONF
from tricircle.db.engine import make_engine, make_session_factory
from tricircle.pods.client import PodClients
from tricircle.pods.versions import PodVersions

ACCESS_LOG = logging.getLogger("tricircle.api.compute.access")
API_PREFIX = "/v2.1"
COMPUTE_REQUEST_ID_HEADER = "x-compute-request-id"


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
    api_versions = COMPUTE.capped(conf.compute.max_microversion)
    app = Flask(__name__)
    app.json.sort_keys = False
    app.url_map.strict_slashes = False
    app.extensions[EXTENSION] = ComputeState(
        conf=conf,
        session_factory=session_factory,
        enforcer=policy.make_enforcer(conf),
        pod_clients=pod_clients,
        pod_versions=pod_versions,
        api_versions=api_versions,
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
        negotiation=gateway.Negotiation(
            api_versions, gateway.served_maximum, covers=_is_api_request
        ),
    )
    app.wsgi_app = gateway.with_request_ids(
        auth.wrap_with_auth(app.wsgi_app, conf), (COMPUTE_REQUEST_ID_HEADER,)
    )
    return app


def _is_api_request(path: str) -> bool:
    """True under /v2.1/ (the version documents are served at no microversion)."""
    return path.rstrip("/") != API_PREFIX and path.startswith(API_PREFIX + "/")
