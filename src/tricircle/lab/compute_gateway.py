"""The lab's Nova API gateway: its ``[compute]`` options, its process, its catalog entry and the
lab flavor defined at the gateway (the pods already hold it with the same ID)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tricircle.lab import identity, processes
from tricircle.lab.identity import Endpoint
from tricircle.lab.layout import FLAVOR, TOP_REGION, LabLayout

PROCESS = "tricircle-compute-api"
FLAVOR_ID = "1"
Progress = Callable[[str, str], None]


def config(layout: LabLayout) -> dict[str, str]:
    """``[compute]`` of the lab's tricircle.conf."""
    return {
        "bind_port": str(layout.port("compute_gateway")),
        "list_deadline": "5",
        "show_deadline": "20",
        "pod_versions_ttl": "30",
    }


def endpoints(layout: LabLayout) -> list[Endpoint]:
    """The gateway as RegionOne's ``compute`` service (full labs only)."""
    if not layout.compute:
        return []
    return [Endpoint("compute", "nova", TOP_REGION, layout.compute_gateway_url)]


def process_names(layout: LabLayout) -> list[str]:
    """The gateway's process name (full labs only)."""
    return [PROCESS] if layout.compute else []


def ports(layout: LabLayout) -> dict[int, str]:
    """The gateway's port (full labs only)."""
    return {layout.port("compute_gateway"): PROCESS} if layout.compute else {}


def start(
    layout: LabLayout, conf: Path, progress: Progress, argv: Callable[..., list[str]]
) -> None:
    """Serve the gateway (gunicorn, 2 workers x 4 threads) and define the lab flavor in it."""
    port = layout.port("compute_gateway")
    processes.start(
        layout,
        PROCESS,
        argv(PROCESS, "tricircle.api.wsgi:compute_application()", port, 4, 2),
        env={"TRICIRCLE_CONFIG_FILES": str(conf)},
    )
    processes.wait_for_http(layout, PROCESS, layout.compute_gateway_url.removesuffix("/v2.1"))
    define_flavor(layout)
    progress("tricircle", f"Nova API gateway answering at {layout.compute_gateway_url}")


def define_flavor(layout: LabLayout) -> None:
    """The lab flavor (same ID as the pods' own copy) defined at the gateway, unless present."""
    session = identity.admin_session(layout)
    url = f"{layout.compute_gateway_url}/flavors"
    if session.get(f"{url}/{FLAVOR_ID}", raise_exc=False).status_code == 200:
        return
    session.post(
        url,
        json={"flavor": {"name": FLAVOR, "id": FLAVOR_ID, "ram": 512, "vcpus": 1, "disk": 1}},
    )
