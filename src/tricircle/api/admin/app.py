"""The admin API's WSGI app: Flask views under ``/v1.0``, behind auth_token unless noauth."""

from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, Response, g, request
from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle.api import auth, errors, policy, validation
from tricircle.api.admin import jobs, pods, routings
from tricircle.api.admin.common import EXTENSION, AdminState
from tricircle.conf import CONF
from tricircle.db.engine import make_engine, make_session_factory

ACCESS_LOG = logging.getLogger("tricircle.api.admin.access")
REQUEST_ID_HEADER = "X-OpenStack-Request-ID"
API_PREFIX = "/v1.0"


def create_app(
    conf: cfg.ConfigOpts | None = None,
    session_factory: sessionmaker[Session] | None = None,
) -> Flask:
    """The admin API configured from ``conf`` (the global CONF by default).

    ``session_factory`` defaults to one on ``[database] connection``. With
    ``[api] auth_strategy = keystone`` the WSGI callable is wrapped by auth_token.
    """
    conf = conf if conf is not None else CONF
    if session_factory is None:
        session_factory = make_session_factory(make_engine(conf.database.connection))
    app = Flask(__name__)
    app.json.sort_keys = False
    app.extensions[EXTENSION] = AdminState(
        conf=conf, session_factory=session_factory, enforcer=policy.make_enforcer(conf)
    )
    for blueprint in (pods.blueprint, routings.blueprint, jobs.blueprint):
        app.register_blueprint(blueprint, url_prefix=API_PREFIX)
    errors.ADMIN.register(app)
    app.before_request(_start_request)
    app.after_request(_log_request)
    app.wsgi_app = auth.wrap_with_auth(app.wsgi_app, conf)
    return app


def _start_request() -> None:
    """Give the request an ID and the caller's context."""
    g.started = time.monotonic()
    g.request_id = f"req-{uuid.uuid4()}"
    g.context = auth.request_context(request.environ, g.request_id)
    validation.check_url(request.path, request.args)


def _log_request(response: Response) -> Response:
    """Tag the response with its request ID and write one structured access-log line."""
    response.headers[REQUEST_ID_HEADER] = g.request_id
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
    ACCESS_LOG.info(
        " ".join(f"{key}=%({key})s" for key in fields), fields, extra={"tricircle": fields}
    )
    return response
