"""Tricircle's database as the central Neutron's plugins reach it.

Neutron's own ``[database]`` is the central Neutron's; Tricircle's pods, routings and jobs live in
the database named by ``[tricircle] database_connection``. Each Neutron worker process opens one
engine on first use and shares it between the core plugin and the service plugin.
"""

from __future__ import annotations

import threading

from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from tricircle.db.engine import make_engine, make_session_factory
from tricircle.network import opts

opts.register()

_lock = threading.Lock()
_sessions: sessionmaker[Session] | None = None


def sessions() -> sessionmaker[Session]:
    """This process's session factory on Tricircle's database (made on first call)."""
    global _sessions
    with _lock:
        if _sessions is None:
            engine = make_engine(cfg.CONF.tricircle.database_connection)
            _sessions = make_session_factory(engine)
        return _sessions
