"""WSGI entry point of the Cinder gateway, e.g.
``gunicorn 'tricircle.api.volume.wsgi:volume_application()'``.

Configuration files come from ``TRICIRCLE_CONFIG_FILES`` (separated by ``;``), else from
oslo.config's usual places, as for the admin API.
"""

from __future__ import annotations

from flask import Flask

from tricircle import conf, logs
from tricircle.api.volume.app import create_app
from tricircle.api.wsgi import config_files


def volume_application() -> Flask:
    """The Cinder gateway, configured from the environment's config files."""
    logs.configure_service()
    return create_app(conf.load(config_files()))
