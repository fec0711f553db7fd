"""The lab's own RabbitMQ node: the pods' message broker, one virtual host per pod.

Each real pod runs its own broker; the lab runs one node for all its pods (a vhost each keeps
their RPC apart) so that a fault test can restart it, which the machine's shared RabbitMQ must
never be. The node listens on ``LabLayout.port("rabbitmq")`` (loopback), keeps its state in the
lab's folder, and is born with the pods' vhosts and the ``guest`` user through a definitions
file: no ``rabbitmqctl`` run is needed. The Erlang port mapper (``epmd``) is the machine's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from pathlib import Path

from tricircle.lab import processes
from tricircle.lab.layout import HOST, LabLayout

PROCESS = "rabbitmq"
USER = "guest"
PASSWORD = "guest"
SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def state_dir(layout: LabLayout) -> Path:
    """The node's configuration, database and Erlang cookie."""
    return layout.root / "rabbitmq"


def node_name(layout: LabLayout) -> str:
    """The node's Erlang name (one per lab, by base port)."""
    return f"{layout.db_prefix}@localhost"


def transport_url(layout: LabLayout, vhost: str) -> str:
    """oslo.messaging's URL of ``vhost`` on the lab's node."""
    return f"rabbit://{USER}:{PASSWORD}@{HOST}:{layout.port('rabbitmq')}/{vhost}"


def password_hash(password: str, salt: bytes) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256`` form: base64(salt + sha256(salt + pw))."""
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(layout: LabLayout) -> dict[str, list[dict[str, object]]]:
    """The node's users, vhosts and permissions at boot: ``guest`` on every pod's vhost."""
    vhosts = [pod.vhost for pod in layout.pod_layouts]
    everything = {"configure": ".*", "write": ".*", "read": ".*"}
    return {
        "users": [
            {
                "name": USER,
                "password_hash": password_hash(PASSWORD, os.urandom(4)),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": ["administrator"],
            }
        ],
        "vhosts": [{"name": vhost} for vhost in vhosts],
        "permissions": [{"user": USER, "vhost": vhost, **everything} for vhost in vhosts],
    }


def environment(layout: LabLayout) -> dict[str, str]:
    """The environment the node runs in: every path and port its own, loopback only."""
    state = state_dir(layout)
    return {
        "HOME": str(state),
        "RABBITMQ_CONF_ENV_FILE": str(state / "rabbitmq-env.conf"),
        "RABBITMQ_CONFIG_FILE": str(state / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(state / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(state / "mnesia"),
        "RABBITMQ_LOG_BASE": str(state / "log"),
        "RABBITMQ_LOGS": "-",
        "RABBITMQ_PID_FILE": str(state / "rabbitmq.pid"),
        "RABBITMQ_NODENAME": node_name(layout),
        "RABBITMQ_NODE_IP_ADDRESS": HOST,
        "RABBITMQ_NODE_PORT": str(layout.port("rabbitmq")),
        "RABBITMQ_DIST_PORT": str(layout.port("rabbitmq_distribution")),
        "ERL_EPMD_ADDRESS": HOST,
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }


def write_config(layout: LabLayout) -> None:
    """The node's files: listener, definitions, no plugins, an empty env file."""
    state = state_dir(layout)
    state.mkdir(parents=True, exist_ok=True)
    (state / "definitions.json").write_text(json.dumps(definitions(layout)))
    (state / "rabbitmq.conf").write_text(
        f"listeners.tcp.default = {HOST}:{layout.port('rabbitmq')}\n"
        f"load_definitions = {state / 'definitions.json'}\n"
    )
    (state / "enabled_plugins").write_text("[].\n")
    (state / "rabbitmq-env.conf").write_text("")


def start(layout: LabLayout) -> None:
    """Start the node on fresh state (``lab up`` reset the folder); wait until it listens."""
    if not SERVER.exists():
        raise processes.LabError(f"rabbitmq: {SERVER} missing; run tools/setup.sh")
    write_config(layout)
    processes.start(layout, PROCESS, [str(SERVER)], env=environment(layout), cwd=state_dir(layout))
    wait_ready(layout)


def wait_ready(layout: LabLayout, timeout: float = 90.0) -> None:
    """Return once the node takes AMQP connections (its definitions loaded before that)."""
    deadline = time.monotonic() + timeout
    while not processes.port_in_use(layout.port("rabbitmq")):
        if not processes.alive(layout, PROCESS) or time.monotonic() > deadline:
            raise processes.LabError(
                f"{PROCESS} did not listen on {HOST}:{layout.port('rabbitmq')} within "
                f"{timeout:.0f}s; see {processes.log_path(layout, PROCESS)}"
            )
        time.sleep(0.2)
