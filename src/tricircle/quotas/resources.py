"""The quota resources of each service, declared once: what is shown, counted and mirrored."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuotaService:
    """One service's quotas.

    ``resources`` are every limit it shows (each has a ``[quota]`` default), in upstream order;
    ``counted`` those whose usage is counted in the pods; ``mirrored`` those written into a
    pod's own quota of the project; ``pod_force`` whether the pod's quota update takes Nova's
    ``force`` flag (Cinder's refuses a limit below the pod's usage instead); ``per_user``
    those a user's share of the project may be limited on (Nova's per-user quotas).
    """

    name: str
    pod_service_type: str
    resources: tuple[str, ...]
    counted: tuple[str, ...]
    mirrored: tuple[str, ...]
    pod_force: bool
    per_user: tuple[str, ...] = ()


NETWORK_QUOTAS = ("fixed_ips", "floating_ips", "security_group_rules", "security_groups")
PER_PROJECT_QUOTAS = ("fixed_ips", "floating_ips")  # Nova keeps no per-user limit of these
INJECTED_FILE_QUOTAS = ("injected_file_content_bytes", "injected_file_path_bytes", "injected_files")

COMPUTE_RESOURCES = tuple(
    sorted(
        (
            "cores",
            "instances",
            "key_pairs",
            "metadata_items",
            "ram",
            "server_groups",
            "server_group_members",
            *NETWORK_QUOTAS,
            *INJECTED_FILE_QUOTAS,
        )
    )
)

COMPUTE = QuotaService(
    name="compute",
    pod_service_type="compute",
    resources=COMPUTE_RESOURCES,
    counted=("instances", "cores", "ram"),
    mirrored=(
        "cores",
        "instances",
        "key_pairs",
        "metadata_items",
        "ram",
        "server_group_members",
        "server_groups",
        *INJECTED_FILE_QUOTAS,
    ),
    pod_force=True,
    per_user=tuple(r for r in COMPUTE_RESOURCES if r not in PER_PROJECT_QUOTAS),
)

VOLUME = QuotaService(
    name="volume",
    pod_service_type="volumev3",
    resources=(
        "volumes",
        "snapshots",
        "gigabytes",
        "backups",
        "backup_gigabytes",
        "groups",
        "per_volume_gigabytes",
    ),
    counted=("volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes", "groups"),
    mirrored=(
        "volumes",
        "snapshots",
        "gigabytes",
        "backups",
        "backup_gigabytes",
        "groups",
        "per_volume_gigabytes",
    ),
    pod_force=False,
)

SERVICES = (COMPUTE, VOLUME)
