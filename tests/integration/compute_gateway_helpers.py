"""Helpers of the Nova gateway's integration tests: stock clients on RegionOne, pod read-backs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import openstack
from keystoneauth1 import adapter, session

from tricircle.lab.layout import IMAGE, PASSWORD, TOP_REGION, LabLayout

FLAVOR_ID = "1"
NOVA_2_69 = "2.69"


def connect(lab: LabLayout, user: str, project: str) -> openstack.connection.Connection:
    """openstacksdk on region RegionOne only, as a user would configure it."""
    return openstack.connect(
        auth_url=lab.keystone_url,
        username=user,
        password=PASSWORD,
        project_name=project,
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=TOP_REGION,
    )


def gateway(user_session: session.Session) -> adapter.Adapter:
    """Raw requests to RegionOne's compute endpoint (the gateway), errors returned not raised."""
    return adapter.Adapter(
        user_session, service_type="compute", region_name=TOP_REGION, interface="public"
    )


def image_id(cloud: openstack.connection.Connection) -> str:
    """The lab image, found through RegionOne's Glance."""
    return cloud.image.find_image(IMAGE, ignore_missing=False).id


def boot(
    cloud: openstack.connection.Connection,
    name: str,
    az: str,
    networks: Any = "none",
    wait: bool = True,
    **attributes: Any,
) -> Any:
    """A server booted through the gateway (ACTIVE when ``wait``); ``attributes`` go into the
    create body as they are (for example ``security_groups``)."""
    server = cloud.compute.create_server(
        name=name,
        image_id=image_id(cloud),
        flavor_id=FLAVOR_ID,
        networks=networks,
        availability_zone=az,
        **attributes,
    )
    return wait_active(cloud, server, 180) if wait else server


def wait_active(cloud: openstack.connection.Connection, server: Any, wait: float) -> Any:
    """The server once ACTIVE; if it goes to ERROR, an assertion naming Nova's fault for it."""
    try:
        return cloud.compute.wait_for_server(server, wait=wait)
    except openstack.exceptions.ResourceFailure:
        failed = cloud.compute.get_server(server)
        raise AssertionError(f"server {failed.id} went to ERROR: {failed.fault}") from None


def delete_all(cloud: openstack.connection.Connection, servers: list[Any]) -> None:
    """Delete servers through the gateway and wait until the gateway no longer finds them."""
    for server in servers:
        cloud.compute.delete_server(server, ignore_missing=True)
    for server in servers:
        cloud.compute.wait_for_delete(server, wait=120)


def pod_servers(pod_api: Callable[[str, str], adapter.Adapter], region: str, **params: str) -> list:
    """Every server of every project in one pod, read from the pod's own Nova."""
    compute = pod_api(region, "compute")
    query = {"all_tenants": "1", **params}
    return compute.get("/servers/detail", params=query).json()["servers"]


def routed_servers(admin: session.Session, lab: LabLayout) -> set[str]:
    """Top IDs of the server routings in Tricircle's database (admin API)."""
    answer = admin.get(f"{lab.admin_api_url}/routings", params={"resource_type": "server"})
    return {routing["top_id"] for routing in answer.json()["routings"]}


def fault(response: Any, status: int, name: str) -> str:
    """The message of a Nova fault of ``status`` named ``name``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == [name], body
    assert body[name]["code"] == status
    return body[name]["message"]


def elapsed(started: float) -> float:
    """Seconds since ``started``."""
    return time.monotonic() - started
