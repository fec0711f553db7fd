"""WSGI entry points for production servers, e.g.
``gunicorn 'tricircle.api.wsgi:admin_application()'`` or ``compute_application()``.

Configuration files come from ``TRICIRCLE_CONFIG_FILES`` (separated by ``;``), else from
oslo.config's usual places (``/etc/tricircle/tricircle.conf``, ...).
"""

from __future__ import annotations

from flask import Flask
from oslo_config import cfg

from tricircle import conf, logs
from tricircle.api.admin.app import create_app
from tricircle.api.compute.app import create_app as create_compute_app


def config_files() -> list[str]:
    """The config files named by the environment, else those oslo.config finds."""
    return conf.environment_config_files() or cfg.find_config_files(project="tricircle")


def admin_application() -> Flask:
    """The admin API, configured from the environment's config files."""
    logs.configure_service()
    return create_app(conf.load(config_files()))


def compute_application() -> Flask:
    """The Nova API gateway, configured from the environment's config files."""
    logs.configure_service()
    return create_compute_app(conf.load(config_files()))
