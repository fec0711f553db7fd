"""``tricircle api``: serve the admin API with a development WSGI server.

Production runs ``gunicorn 'tricircle.api.wsgi:admin_application()'`` instead.
"""

from __future__ import annotations

import argparse
import logging

from werkzeug.serving import make_server

from tricircle import conf, logs
from tricircle.api.admin.app import create_app

LOG = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tricircle api``."""
    parser = subparsers.add_parser("api", help="Serve the admin API (development server).")
    parser.add_argument("--host", help="Address to listen on (default: [api] bind_host).")
    parser.add_argument("--port", type=int, help="Port to listen on (default: [api] bind_port).")
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    """Serve the admin API until interrupted."""
    config = conf.load(args.config_file)
    logs.configure_service()
    host = args.host or config.api.bind_host
    port = args.port if args.port is not None else config.api.bind_port
    server = make_server(host, port, create_app(config), threaded=True)
    LOG.info("admin API listening on http://%s:%s/v1.0", host, server.server_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        LOG.info("admin API stopped")
    finally:
        server.server_close()
    return 0
