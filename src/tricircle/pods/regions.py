"""The regions Keystone knows, read with Tricircle's service credentials (``[client]``)."""

from __future__ import annotations

from collections.abc import Callable

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session
from oslo_config import cfg

from tricircle.pods import client

RegionsReader = Callable[[], frozenset[str]]


def keystone_regions(keystone_session: session.Session, auth_url: str) -> frozenset[str]:
    """Every region ID of ``GET <auth_url>/regions`` (``auth_url`` is Keystone's v3 URL);
    PodUnreachable if Keystone does not answer it."""
    try:
        response = keystone_session.get(f"{auth_url.rstrip('/')}/regions", authenticated=True)
    except ks_exceptions.ClientException as exc:
        raise client.PodUnreachable("keystone", "identity", str(exc)) from exc
    return frozenset(region["id"] for region in response.json()["regions"])


def regions_reader(conf: cfg.ConfigOpts) -> RegionsReader | None:
    """A reader of Keystone's regions with ``[client]``'s identity; None without an auth_url."""
    if not conf.client.auth_url:
        return None
    keystone_session = client.make_session(conf)
    return lambda: keystone_regions(keystone_session, conf.client.auth_url)
