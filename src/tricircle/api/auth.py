"""Who is calling: keystonemiddleware ``auth_token`` in production, trusted headers in noauth.

Both modes end with the same request headers (X-User-Id, X-Project-Id, X-Roles), which
``request_context`` turns into an oslo.context RequestContext for oslo.policy.

Tricircle's APIs never read the caller's service catalog (pods are reached through Tricircle's
own), so ``[keystone_authtoken] include_service_catalog`` defaults to false here: tokens are
validated without their catalog and no X-Service-Catalog is built on every request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_context import context as oslo_context

WsgiApp = Callable[..., Any]
AUTHTOKEN_GROUP = "keystone_authtoken"


def wrap_with_auth(wsgi_app: WsgiApp, conf: cfg.ConfigOpts) -> WsgiApp:
    """``wsgi_app`` behind auth_token (reading ``[keystone_authtoken]`` of ``conf``) if keystone.

    In noauth mode the app is returned unchanged and trusts the caller's identity headers.
    """
    if conf.api.auth_strategy == "noauth":
        return wsgi_app
    set_authtoken_defaults(conf)
    return auth_token.AuthProtocol(wsgi_app, {"oslo_config_config": conf})


def set_authtoken_defaults(conf: cfg.ConfigOpts) -> None:
    """Register auth_token's options on ``conf`` with Tricircle's defaults (a file still wins)."""
    for group, opts in auth_token.list_opts():
        conf.register_opts(opts, group=group)
    conf.set_default("include_service_catalog", False, group=AUTHTOKEN_GROUP)


def request_context(environ: dict[str, Any], request_id: str) -> oslo_context.RequestContext:
    """The caller's identity as set in the WSGI environ by auth_token (or by the caller)."""
    return oslo_context.RequestContext.from_environ(environ, request_id=request_id)
