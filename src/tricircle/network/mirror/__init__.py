"""Bottom mirroring: copies of top Neutron resources in the pods, made once, undone on failure.

The public API, used by the Nova API gateway and the network jobs (``pod`` is a
``tricircle.db.models.Pod``; top resources are the central Neutron's JSON dicts)::

    mirror = BottomMirror(session_factory, PodClients.from_conf(conf), top_region_name)
    mirror.prepare_server_port(pod, project_id, requested, security_groups=None) -> ServerPort
    mirror.release_server_port(pod, server_port)
    mirror.ensure_bottom_network(pod, top_network) -> bottom network ID
    mirror.ensure_bottom_subnet(pod, top_subnet, bottom_network_id) -> bottom subnet ID
    mirror.ensure_bottom_security_group(pod, top_security_group_id) -> bottom group ID
    mirror.ensure_bottom_port(pod, top_port) -> bottom port dict
    mirror.ensure_bottom_router(pod, top_router) -> bottom router ID
    mirror.ensure_bottom_external_network(pod, top_network) -> bottom network ID
    mirror.ensure_bottom_external_subnet(pod, top_subnet, bottom_network_id) -> bottom subnet ID
    mirror.sync_external_network(pod, top_network) -> bottom network ID (subnets made or updated)
    mirror.get_top_network / get_top_subnet / get_top_port / get_top_security_group(top_id)
    mirror.delete_bottom_copy(pod, resource_type, top_id) / delete_bottom_copies(type, top_id)
    mirror.copies(resource_type, top_id) -> [(pod, bottom ID)]

Errors: NetworkNotFound, SubnetNotFound, PortNotFound, SecurityGroupNotFound (all
TopResourceNotFound, a LookupError), NetworkNotInPod, PortInUse, InvalidNetworkRequest (a
ValueError), TopPodNotRegistered, ExternalNetworkNotPlaced; pod failures are
tricircle.pods.client errors.
"""

from tricircle.network.mirror.errors import (
    ExternalNetworkNotPlaced,
    InvalidNetworkRequest,
    MirrorError,
    NetworkNotFound,
    NetworkNotInPod,
    PortInUse,
    PortNotFound,
    SecurityGroupNotFound,
    SubnetNotFound,
    TopPodNotRegistered,
    TopResourceNotFound,
)
from tricircle.network.mirror.library import BottomMirror, ServerPort
from tricircle.network.mirror.undo import Made

__all__ = [
    "BottomMirror",
    "ExternalNetworkNotPlaced",
    "InvalidNetworkRequest",
    "Made",
    "MirrorError",
    "NetworkNotFound",
    "NetworkNotInPod",
    "PortInUse",
    "PortNotFound",
    "SecurityGroupNotFound",
    "ServerPort",
    "SubnetNotFound",
    "TopPodNotRegistered",
    "TopResourceNotFound",
]
