"""Gunicorn entry points for the lab's OpenStack services.

Each service parses ``sys.argv`` when its WSGI module is imported, so under gunicorn it would see
gunicorn's own arguments and stop. ``application(service)`` resets ``sys.argv`` (adding the
arguments in ``TRICIRCLE_LAB_ARGS``, if any) before importing the service's WSGI module. Use it as
``gunicorn 'tricircle.lab.wsgi:application("neutron")'``.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401  (see application())
import importlib
import os
import shlex
import sys
from collections.abc import Callable

WSGI_MODULES = {
    "keystone": "keystone.wsgi.api",
    "neutron": "neutron.wsgi.api",
    "nova": "nova.wsgi.osapi_compute",
    "placement": "placement.wsgi.api",
    "glance": "glance.wsgi.api",
    "cinder": "cinder.wsgi.api",
}


def application(service: str) -> Callable:
    """The WSGI application of ``service``, imported with a clean ``sys.argv``.

    ``concurrent.futures.thread`` is imported above, in gunicorn's main thread: Glance imports it
    lazily from a request thread, where registering its exit hook fails under gunicorn.
    """
    sys.argv = [sys.argv[0], *shlex.split(os.environ.get("TRICIRCLE_LAB_ARGS", ""))]
    return importlib.import_module(WSGI_MODULES[service]).application
