"""The lab's own RabbitMQ node: born with every pod's vhost, on its own loopback port."""

from __future__ import annotations

import base64
import hashlib

from tricircle.lab import broker, configs
from tricircle.lab.layout import LabLayout


def test_every_pod_service_talks_to_its_vhost_on_the_labs_node(tmp_path):
    layout = LabLayout(root=tmp_path, pods=2, base_port=22000)
    for pod in layout.pod_layouts:
        url = f"rabbit://guest:guest@127.0.0.1:22007/{pod.vhost}"
        assert configs.pod_neutron(layout, pod)["DEFAULT"]["transport_url"] == url
        assert configs.pod_nova(layout, pod)["DEFAULT"]["transport_url"] == url


def test_definitions_give_guest_every_pods_vhost_and_nothing_else(tmp_path):
    layout = LabLayout(root=tmp_path, pods=2, base_port=22000)
    made = broker.definitions(layout)
    vhosts = [pod.vhost for pod in layout.pod_layouts]
    assert [vhost["name"] for vhost in made["vhosts"]] == vhosts
    assert [(p["user"], p["vhost"], p["read"]) for p in made["permissions"]] == [
        ("guest", vhost, ".*") for vhost in vhosts
    ]
    (user,) = made["users"]
    stored = base64.b64decode(user["password_hash"])
    salt, digest = stored[:4], stored[4:]
    assert digest == hashlib.sha256(salt + b"guest").digest()


def test_the_node_is_named_and_placed_per_lab_and_listens_on_loopback_only(tmp_path):
    layout = LabLayout(root=tmp_path, pods=1, base_port=22000)
    broker.write_config(layout)
    env = broker.environment(layout)
    assert env["RABBITMQ_NODENAME"] == f"{layout.db_prefix}@localhost"
    assert (env["RABBITMQ_NODE_PORT"], env["RABBITMQ_DIST_PORT"]) == ("22007", "22008")
    assert env["RABBITMQ_MNESIA_BASE"].startswith(str(tmp_path))
    conf = (broker.state_dir(layout) / "rabbitmq.conf").read_text()
    assert "listeners.tcp.default = 127.0.0.1:22007" in conf
    assert (broker.state_dir(layout) / "enabled_plugins").read_text().strip() == "[]."
