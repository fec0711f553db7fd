"""Gateway resources made to exist in a pod on first use there: flavors and keypairs.

Both go through create-once (the routing row is the lock), so concurrent boots in one pod make
one bottom flavor or keypair. Flavors are made with Tricircle's admin identity and the SAME ID;
keypairs with the caller's token, so that the bottom keypair belongs to the caller's user.
"""

from __future__ import annotations

import logging

from tricircle.api.compute.state import ComputeState
from tricircle.api.podcalls import Caller, CallerPodCalls
from tricircle.db.models import Flavor, Keypair, Pod
from tricircle.db.routings import ResourceType
from tricircle.pods import create_once
from tricircle.pods.client import PodClient, PodClientError
from tricircle.pods.paths import segment

LOG = logging.getLogger(__name__)

FLAVOR = ResourceType.FLAVOR
KEYPAIR = ResourceType.KEYPAIR
FLAVOR_MICROVERSION = "2.55"


def bottom_flavor_body(flavor: Flavor) -> dict:
    """The create body of a flavor's bottom copy: every attribute, the same ID."""
    return {
        "flavor": {
            "id": flavor.id,
            "name": flavor.name,
            "ram": flavor.ram,
            "vcpus": flavor.vcpus,
            "disk": flavor.disk,
            "swap": flavor.swap,
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral,
            "rxtx_factor": flavor.rxtx_factor,
            "os-flavor-access:is_public": flavor.is_public,
            "description": flavor.description,
        }
    }


def ensure_bottom_flavor(state: ComputeState, pod: Pod, flavor: Flavor, project_id: str) -> None:
    """Make ``flavor`` exist in ``pod`` (same ID, extra specs, access for ``project_id``)."""
    client = state.pod_clients.client(pod.region_name, "compute")

    def find(flavor_id: str) -> str | None:
        try:
            client.get(f"/flavors/{segment(flavor_id)}", microversion=FLAVOR_MICROVERSION)
        except PodClientError as exc:
            if exc.status == 404:
                return None
            raise
        return flavor_id

    def create(flavor_id: str) -> str:
        try:
            client.post("/flavors", json=bottom_flavor_body(flavor), microversion="2.55")
        except PodClientError as exc:
            if exc.status != 409 or find(flavor_id) is None:
                raise
            LOG.info(
                "bottom flavor already present region=%s flavor_id=%s", pod.region_name, flavor_id
            )
        if flavor.extra_specs:
            client.post(
                f"/flavors/{segment(flavor_id)}/os-extra_specs",
                json={"extra_specs": flavor.extra_specs},
            )
        return flavor_id

    create_once.ensure_bottom_resource(
        state.session_factory,
        top_id=flavor.id,
        pod_id=pod.pod_id,
        project_id=project_id,
        resource_type=FLAVOR,
        create=create,
        find_by_name=find,
    )
    if not flavor.is_public:
        _grant_flavor_access(client, pod, flavor.id, project_id)


def _grant_flavor_access(client: PodClient, pod: Pod, flavor_id: str, project_id: str) -> None:
    """Let ``project_id`` use the private bottom flavor (already allowed is fine)."""
    try:
        client.post(
            f"/flavors/{segment(flavor_id)}/action",
            json={"addTenantAccess": {"tenant": project_id}},
        )
    except PodClientError as exc:
        if exc.status != 409:
            raise
    LOG.info(
        "bottom flavor access region=%s flavor_id=%s project_id=%s",
        pod.region_name,
        flavor_id,
        project_id,
    )


def ensure_bottom_keypair(
    state: ComputeState, calls: CallerPodCalls, caller: Caller, pod: Pod, keypair: Keypair
) -> None:
    """Make the caller's ``keypair`` exist for the caller's user in ``pod``."""

    def find(_top_id: str) -> str | None:
        try:
            calls.call(caller, pod.region_name, "GET", f"/os-keypairs/{segment(keypair.name)}")
        except PodClientError as exc:
            if exc.status == 404:
                return None
            raise
        return keypair.name

    def create(_top_id: str) -> str:
        body: dict = {"name": keypair.name, "public_key": keypair.public_key}
        if caller.microversion.at_least("2.2"):
            body["type"] = keypair.type
        try:
            calls.call(caller, pod.region_name, "POST", "/os-keypairs", json={"keypair": body})
        except PodClientError as exc:
            if exc.status != 409:
                raise
        LOG.info(
            "bottom keypair region=%s user_id=%s name=%s",
            pod.region_name,
            caller.user_id,
            keypair.name,
        )
        return keypair.name

    create_once.ensure_bottom_resource(
        state.session_factory,
        top_id=f"keypair-{keypair.id}",
        pod_id=pod.pod_id,
        project_id=caller.project_id,
        resource_type=KEYPAIR,
        create=create,
        find_by_name=find,
    )
