"""The Cinder gateway's WSGI app: Block Storage v3 under ``/v3``, version documents open to all.

Version documents (``/``, ``/v3``) answer without a token, as Cinder's do; everything else sits
behind auth_token (unless noauth). ``/v3/<project_id>/...`` (the old URL style) is served as
``/v3/...``. Each API request is given the negotiated microversion in ``g.microversion``, announced
in ``OpenStack-API-Version``.
"""

from __future__ import annotations

import logging

from flask import Flask
from oslo_config import cfg

from tricircle.api import auth, gateway, quota_sets
from tricircle.api.microversions import VOLUME
from tricircle.api.request_limits import RequestLimits, json_media_types
from tricircle.api.volume import (
    admin_views,
    common,
    extensions,
    faults,
    group_types,
    groups,
    limits,
    messages,
    policy,
    qos_specs,
    quota_classes,
    snapshots,
    transfers,
    type_access,
    type_encryption,
    types,
    versions,
    volume_actions,
    volumes,
    zones,
)
from tricircle.conf import CONF

ACCESS_LOG = logging.getLogger("tricircle.api.volume.access")
VERSION_PATHS = frozenset({"/", "/v3", "/v3/"})
VERSIONS_TTL = 300.0


def create_app(
    conf: cfg.ConfigOpts | None = None, overrides: gateway.Overrides | None = None
) -> Flask:
    """The Cinder gateway; ``[volume_api]`` bounds how long its lists wait for the pods."""
    conf = conf if conf is not None else CONF
    app = gateway.gateway_app(
        __name__,
        common.VolumeState,
        conf,
        VOLUME,
        policy.make_enforcer(conf),
        versions_ttl=VERSIONS_TTL,
        overrides=overrides,
    )
    for blueprint in (
        versions.blueprint,
        volumes.blueprint,
        volume_actions.blueprint,
        snapshots.blueprint,
        limits.blueprint,
        types.blueprint,
        zones.blueprint,
        admin_views.blueprint,
        messages.blueprint,
        quota_classes.blueprint,
        type_access.blueprint,
        type_encryption.blueprint,
        qos_specs.blueprint,
        group_types.blueprint,
        groups.blueprint,
        transfers.blueprint,
        extensions.blueprint,
    ):
        app.register_blueprint(blueprint)
    faults.CINDER.register(app)
    quota_sets.install(app)
    gateway.install_request_hooks(
        app,
        ACCESS_LOG,
        RequestLimits.from_conf(conf, json_media_types("volume")),
        negotiation=gateway.Negotiation(VOLUME, gateway.served_maximum, covers=_is_api_request),
    )
    app.wsgi_app = gateway.with_request_ids(
        gateway.with_open_versions(
            app.wsgi_app,
            auth.wrap_with_auth(app.wsgi_app, conf),
            "/v3",
            VERSION_PATHS,
            keep_url_project=False,
        )
    )
    return app


def _is_api_request(path: str) -> bool:
    """True for the API, False for the version documents (served at no microversion)."""
    return path not in VERSION_PATHS
