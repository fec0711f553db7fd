"""``clouds.yaml`` for the lab: the admin and the demo member, both in region RegionOne."""

from __future__ import annotations

import json
from pathlib import Path

from tricircle.lab.layout import DEMO_PROJECT, DEMO_USER, PASSWORD, TOP_REGION, LabLayout


def clouds(layout: LabLayout) -> dict:
    """The ``clouds`` mapping: ``lab-admin`` and ``lab-demo``, each knowing every region."""
    regions = [TOP_REGION, *(pod.region for pod in layout.pod_layouts)]

    def cloud(user: str, project: str) -> dict:
        return {
            "auth": {
                "auth_url": layout.keystone_url,
                "username": user,
                "password": PASSWORD,
                "project_name": project,
                "user_domain_name": "Default",
                "project_domain_name": "Default",
            },
            "identity_api_version": 3,
            "interface": "public",
            "region_name": TOP_REGION,
            "regions": regions,
        }

    return {
        "clouds": {"lab-admin": cloud("admin", "admin"), "lab-demo": cloud(DEMO_USER, DEMO_PROJECT)}
    }


def write_clouds_yaml(layout: LabLayout) -> Path:
    """Write ``<state>/clouds.yaml`` (JSON is valid YAML) and return its path."""
    path = layout.root / "clouds.yaml"
    path.write_text(json.dumps(clouds(layout), indent=2) + "\n")
    return path
