"""Typed errors of the mirroring library; API gateways map them to their own fault shapes."""

from __future__ import annotations


class MirrorError(Exception):
    """Base of every error the mirroring library raises on purpose."""


class TopResourceNotFound(MirrorError, LookupError):
    """The central Neutron has no such resource (or the tenant may not see it)."""

    resource_type = "resource"

    def __init__(self, top_id: str) -> None:
        super().__init__(f"{self.resource_type.capitalize()} {top_id} could not be found.")
        self.top_id = top_id


class NetworkNotFound(TopResourceNotFound):
    """No top network has this ID."""

    resource_type = "network"


class SubnetNotFound(TopResourceNotFound):
    """No top subnet has this ID."""

    resource_type = "subnet"


class PortNotFound(TopResourceNotFound):
    """No top port has this ID."""

    resource_type = "port"


class SecurityGroupNotFound(TopResourceNotFound):
    """No top security group has this ID or name."""

    resource_type = "security group"


class NetworkNotInPod(MirrorError):
    """The network may not have a copy in this pod (a local network of another pod, or hints)."""

    def __init__(self, top_network_id: str, region_name: str, reason: str) -> None:
        super().__init__(f"Network {top_network_id} is not available in {region_name}: {reason}")
        self.top_network_id = top_network_id
        self.region_name = region_name
        self.reason = reason


class ExternalNetworkNotPlaced(MirrorError):
    """A router's external network has no copy in its pod yet (its own job has not run)."""

    def __init__(self, top_network_id: str) -> None:
        super().__init__(f"External network {top_network_id} has no copy in its pod yet.")
        self.top_network_id = top_network_id


class PortInUse(MirrorError):
    """A requested top port is already bound to a device."""

    def __init__(self, top_port_id: str, device_id: str) -> None:
        super().__init__(f"Port {top_port_id} is still in use by {device_id}.")
        self.top_port_id = top_port_id
        self.device_id = device_id


class InvalidNetworkRequest(MirrorError, ValueError):
    """A server's network request is malformed, or the central Neutron refused it."""


class TopPodNotRegistered(MirrorError):
    """Tricircle's own pod (RegionOne) is missing from the pod registry."""
