"""The admin API's WSGI app: Flask views under ``/v1.0``, behind auth_token unless noauth."""

from __future__ import annotations

import logging

from flask import Flask
from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle.api import auth, errors, gateway, policy
from tricircle.api.admin import jobs, pods, routings
from tricircle.api.admin.common import EXTENSION, AdminState
from tricircle.api.request_limits import RequestLimits
from tricircle.conf import CONF
from tricircle.db.engine import engine_from_conf, make_session_factory
from tricircle.pods.regions import RegionsReader, regions_reader

ACCESS_LOG = logging.getLogger("tricircle.api.admin.access")
API_PREFIX = "/v1.0"


def create_app(
    conf: cfg.ConfigOpts | None = None,
    session_factory: sessionmaker[Session] | None = None,
    keystone_regions: RegionsReader | None = None,
) -> Flask:
    """The admin API configured from ``conf`` (the global CONF by default).

    ``session_factory`` defaults to one on ``[database] connection``, ``keystone_regions`` to
    Keystone's regions read with ``[client]``'s identity (unchecked without an auth_url). With
    ``[api] auth_strategy = keystone`` the WSGI callable is wrapped by auth_token.
    """
    conf = conf if conf is not None else CONF
    if session_factory is None:
        session_factory = make_session_factory(engine_from_conf(conf.database))
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions[EXTENSION] = AdminState(
        conf=conf,
        session_factory=session_factory,
        enforcer=policy.make_enforcer(conf),
        keystone_regions=keystone_regions or regions_reader(conf),
    )
    for blueprint in (pods.blueprint, routings.blueprint, jobs.blueprint):
        app.register_blueprint(blueprint, url_prefix=API_PREFIX)
    errors.ADMIN.register(app)
    gateway.install_request_hooks(app, ACCESS_LOG, RequestLimits.from_conf(conf))
    app.wsgi_app = gateway.with_request_ids(auth.wrap_with_auth(app.wsgi_app, conf))
    return app
