"""Availability zones: the Tricircle AZs of the registered pods."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from tricircle.api.compute import policy
from tricircle.api.compute.state import authorize
from tricircle.api.gateway import bottom_pods

blueprint = Blueprint("compute_availability_zones", __name__)


@blueprint.get("/os-availability-zone")
def list_zones() -> ResponseReturnValue:
    """Every AZ that holds at least one pod."""
    zones = sorted({pod.az_name for pod in bottom_pods()})
    return jsonify(
        {
            "availabilityZoneInfo": [
                {"zoneName": zone, "zoneState": {"available": True}, "hosts": None}
                for zone in zones
            ]
        }
    )


@blueprint.get("/os-availability-zone/detail")
def list_zones_detail() -> ResponseReturnValue:
    """Every AZ with its pods as hosts (admin)."""
    authorize(policy.AZ_DETAIL)
    hosts_by_zone: dict[str, dict] = {}
    for pod in bottom_pods():
        hosts_by_zone.setdefault(pod.az_name, {})[pod.region_name] = {
            "nova-compute": {"available": True, "active": True, "updated_at": None}
        }
    return jsonify(
        {
            "availabilityZoneInfo": [
                {"zoneName": zone, "zoneState": {"available": True}, "hosts": hosts}
                for zone, hosts in sorted(hosts_by_zone.items())
            ]
        }
    )
