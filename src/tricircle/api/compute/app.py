"""The Nova API gateway's WSGI app: Nova v2.1 paths under ``/v2.1``, behind auth_token.

Version documents (``/``, ``/v2``, ``/v2.1``) answer without a token, as Nova's do;
``/v2.1/<project_id>/`` (the URL form many catalogs register) is served as ``/v2.1/`` for the
token's own project, and ``/v2/...`` as ``/v2.1/...`` without microversions (``legacy_v2``).

Every request under ``/v2.1/`` gets its microversion negotiated before the view runs; every
response carries the version served and a request ID (also as ``x-compute-request-id``), and one
structured access-log line.
"""

from __future__ import annotations

import logging

from flask import Flask
from oslo_config import cfg

from tricircle.api import auth, gateway, quota_sets
from tricircle.api.compute import (
    aggregates,
    assisted_volume_snapshots,
    availability_zones,
    extensions,
    external_events,
    faults,
    flavors,
    hosts,
    hypervisors,
    images,
    interfaces,
    keypairs,
    legacy_v2,
    limits,
    migrations,
    policy,
    proxy_floating_ips,
    proxy_networks,
    proxy_security_groups,
    proxy_volumes,
    quota_classes,
    server_actions,
    server_groups,
    servers,
    services,
    tenant_usage,
    usage_audit_log,
    versions,
    volume_attachments,
)
from tricircle.api.compute.state import ComputeState
from tricircle.api.microversions import COMPUTE
from tricircle.api.request_limits import RequestLimits, json_media_types
from tricircle.conf import CONF

ACCESS_LOG = logging.getLogger("tricircle.api.compute.access")
API_PREFIX = "/v2.1"
VERSION_PATHS = frozenset({"/", API_PREFIX, API_PREFIX + "/", *legacy_v2.VERSION_PATHS})
COMPUTE_REQUEST_ID_HEADER = "x-compute-request-id"


def create_app(
    conf: cfg.ConfigOpts | None = None, overrides: gateway.Overrides | None = None
) -> Flask:
    """The Nova gateway: ``[compute]`` caps its microversion and times its version cache."""
    conf = conf if conf is not None else CONF
    api_versions = COMPUTE.capped(conf.compute.max_microversion)
    app = gateway.gateway_app(
        __name__,
        ComputeState,
        conf,
        api_versions,
        policy.make_enforcer(conf),
        versions_ttl=conf.compute.pod_versions_ttl,
        overrides=overrides,
    )
    app.register_blueprint(versions.blueprint)
    for module in (
        servers,
        server_actions,
        server_groups,
        interfaces,
        volume_attachments,
        flavors,
        keypairs,
        images,
        proxy_security_groups,
        proxy_floating_ips,
        proxy_volumes,
        proxy_networks,
        availability_zones,
        limits,
        quota_classes,
        hypervisors,
        services,
        hosts,
        aggregates,
        migrations,
        tenant_usage,
        usage_audit_log,
        external_events,
        assisted_volume_snapshots,
        extensions,
    ):
        app.register_blueprint(module.blueprint, url_prefix=API_PREFIX)
    faults.NOVA.register(app)
    quota_sets.install(app)
    gateway.install_request_hooks(
        app,
        ACCESS_LOG,
        RequestLimits.from_conf(conf, json_media_types("compute")),
        negotiation=gateway.Negotiation(
            api_versions, gateway.served_maximum, covers=_is_api_request
        ),
        request_id_headers=(COMPUTE_REQUEST_ID_HEADER,),
    )
    app.wsgi_app = gateway.with_request_ids(
        legacy_v2.serve_v2_as_v21(
            gateway.with_open_versions(
                app.wsgi_app,
                auth.wrap_with_auth(app.wsgi_app, conf),
                API_PREFIX,
                VERSION_PATHS,
                keep_url_project=True,
            ),
            API_PREFIX,
        ),
        (COMPUTE_REQUEST_ID_HEADER,),
    )
    return app


def _is_api_request(path: str) -> bool:
    """True under /v2.1/ (the version documents are served at no microversion)."""
    return path.rstrip("/") != API_PREFIX and path.startswith(API_PREFIX + "/")
