"""Who is calling: keystonemiddleware ``auth_token`` in production, trusted headers in noauth.

Both modes end with the same request headers (X-User-Id, X-Project-Id, X-Roles), which
``request_context`` turns into an oslo.context RequestContext for oslo.policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_context import context as oslo_context

WsgiApp = Callable[..., Any]


def wrap_with_auth(wsgi_app: WsgiApp, conf: cfg.ConfigOpts) -> WsgiApp:
    """``wsgi_app`` behind auth_token (reading ``[keystone_authtoken]`` of ``conf``) if keystone.

    In noauth mode the app is returned unchanged and trusts the caller's identity headers.
    """
    if conf.api.auth_strategy == "noauth":
        return wsgi_app
    return auth_token.AuthProtocol(wsgi_app, {"oslo_config_config": conf})


def request_context(environ: dict[str, Any], request_id: str) -> oslo_context.RequestContext:
    """The caller's identity as set in the WSGI environ by auth_token (or by the caller)."""
    return oslo_context.RequestContext.from_environ(environ, request_id=request_id)
