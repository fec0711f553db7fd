"""Names shared by the central Neutron plugins, the mirroring library and the network jobs.

The central Neutron's service plugin enqueues the job types below; the xjob worker's handlers
consume them. Ports that Tricircle itself makes on the central Neutron carry the device owners
below, so the plugin can remove them before Neutron refuses to delete their subnet or network.
"""

from __future__ import annotations

from tricircle.db.routings import ResourceType

# Resource types recorded in resource routings (one row per top ID and pod).
NETWORK = ResourceType.NETWORK
SUBNET = ResourceType.SUBNET
PORT = ResourceType.PORT
SECURITY_GROUP = ResourceType.SECURITY_GROUP
ROUTER = ResourceType.ROUTER
LOCAL_NETWORK_HOME = ResourceType.LOCAL_NETWORK_HOME
BRIDGE_NETWORK = ResourceType.BRIDGE_NETWORK
FLOATINGIP = ResourceType.FLOATINGIP
SHADOW_PORT = ResourceType.SHADOW_PORT
FLOATINGIP_PORT = ResourceType.FLOATINGIP_PORT

# Job types. Payloads are JSON objects; resource_id is the top ID named below.
JOB_ROUTER_SETUP = "router_setup"  # resource_id: top router; converges bottom routers and bridge
JOB_CONFIGURE_ROUTES = "configure_routes"  # resource_id: top router; extra routes in each pod
JOB_DELETE_BOTTOM = "delete_bottom"  # resource_id: top ID; payload {"resource_type": ...}
JOB_SYNC_SECURITY_GROUP = "sync_security_group"  # resource_id: top group; rules in every pod
# resource_id: top external network; payload {"region_name": its pod}; its copy and its subnets'
JOB_SETUP_EXTERNAL_NETWORK = "setup_external_network"
# resource_id: top floating IP; its bottom copy (and shadow port) in the external network's pod
JOB_FLOATINGIP_SETUP = "floatingip_setup"

# device_owner of ports Tricircle makes on the central Neutron ("network:" marks them trusted).
GATEWAY_PORT_OWNER = "network:tricircle_gateway"  # one per (pod, subnet): the pod's gateway IP
BRIDGE_PORT_OWNER = "network:tricircle_bridge"  # one per bottom router on the bridge network
# device_owner of a shadow port (bottom only): "compute:" so that a floating IP may take it.
SHADOW_PORT_OWNER = "compute:tricircle-shadow"

# Network types seen on the central Neutron.
TYPE_SHARED_VLAN = "shared_vlan"
TYPE_LOCAL = "local"
# Provider types an external network may have on the central Neutron (besides shared_vlan).
TYPE_FLAT = "flat"
TYPE_VLAN = "vlan"


def gateway_port_name(pod_id: str) -> str:
    """Name of the top port that reserves a pod's gateway IP on a subnet."""
    return f"tricircle-gateway-{pod_id}"


def bridge_key(project_id: str) -> str:
    """Routing top_id of a tenant's bridge network."""
    return f"bridge:{project_id}"


def shadow_key(top_port_id: str) -> str:
    """Routing top_id of a port's shadow copy in the pod of a floating IP's external network."""
    return f"shadow:{top_port_id}"


def floatingip_port_key(top_floatingip_id: str) -> str:
    """Routing top_id recording the top port a floating IP's bottom copy is wired to."""
    return f"fip:{top_floatingip_id}"
