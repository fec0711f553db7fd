"""``/v3/os-availability-zone``: the AZs users see are Tricircle's, one per group of pods."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from tricircle.api import gateway

blueprint = Blueprint("volume_zones", __name__)


@blueprint.get("/v3/os-availability-zone")
def availability_zones() -> Response:
    """Each AZ of the bottom pods, available when one of its pods is enabled."""
    zones: dict[str, bool] = {}
    for pod in gateway.bottom_pods():
        zones[pod.az_name] = zones.get(pod.az_name, False) or pod.is_enabled
    return jsonify(
        {
            "availabilityZoneInfo": [
                {"zoneName": name, "zoneState": {"available": available}}
                for name, available in sorted(zones.items())
            ]
        }
    )
