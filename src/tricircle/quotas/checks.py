"""What a create takes from a project's quota, decided as Nova and Cinder decide it, and their
refusals in their own words (each gateway's dialect maps them to its status and fault)."""

from __future__ import annotations

from collections.abc import Callable

from tricircle.quotas.engine import Plan, Usage


class OverQuota(Exception):
    """A create that would take the project over a limit; ``message`` is upstream's."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TooManyInstances(OverQuota):
    """Nova's refusal of a boot (the Nova gateway answers 403)."""

    def __init__(
        self, overs: list[str], requested: list[str], used: list[str], allowed: list[str]
    ) -> None:
        names = ", ".join(overs)
        super().__init__(
            f"Quota exceeded for {names}: Requested {', '.join(requested)}, but already used "
            f"{', '.join(used)} of {', '.join(allowed)} {names}"
        )


class KeypairLimitExceeded(OverQuota):
    """Nova's refusal of a key pair over the user's limit (the Nova gateway answers 403)."""

    def __init__(self) -> None:
        super().__init__("Quota exceeded, too many key pairs.")


def check_key_pairs(limit: int, count: int) -> None:
    """Nova's key pair check: a user holding ``count`` key pairs (the new one included) is
    within ``limit`` (-1 unlimited), else KeypairLimitExceeded."""
    if 0 <= limit < count:
        raise KeypairLimitExceeded()


class CinderOverQuota(OverQuota):
    """Cinder's QuotaError family (the Cinder gateway answers 413 ``overLimit``)."""


class VolumeLimitExceeded(CinderOverQuota):
    """Cinder's VolumeLimitExceeded."""

    def __init__(self, allowed: int, name: str = "volumes") -> None:
        super().__init__(
            f"Maximum number of volumes allowed ({allowed}) exceeded for quota '{name}'."
        )


class SnapshotLimitExceeded(CinderOverQuota):
    """Cinder's SnapshotLimitExceeded."""

    def __init__(self, allowed: int) -> None:
        super().__init__(f"Maximum number of snapshots allowed ({allowed}) exceeded")


class VolumeSizeExceedsAvailableQuota(CinderOverQuota):
    """Cinder's VolumeSizeExceedsAvailableQuota."""

    def __init__(self, requested: int, quota: int, consumed: int, name: str = "gigabytes") -> None:
        super().__init__(
            f"Requested volume or snapshot exceeds allowed {name} quota. Requested "
            f"{requested}G, quota is {quota}G and {consumed}G has been consumed."
        )


class VolumeSizeExceedsLimit(CinderOverQuota):
    """Cinder's VolumeSizeExceedsLimit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"Requested volume size {size}G is larger than maximum allowed limit {limit}G."
        )


def _server_amounts(vcpus: int, ram: int, count: int) -> dict[str, int]:
    return {"instances": count, "cores": count * vcpus, "ram": count * ram}


def servers_plan(vcpus: int, ram: int, min_count: int, max_count: int) -> Plan:
    """Nova's ``check_num_instances_quota``: ``max_count`` servers if they fit, else as many
    as fit if that is at least ``min_count``, else TooManyInstances."""

    def plan(usage: Usage) -> dict[str, int]:
        wanted = _server_amounts(vcpus, ram, max_count)
        overs = usage.overs(wanted)
        if not overs:
            return wanted
        allowed = max_count
        for resource, per_server in (("instances", 1), ("cores", vcpus), ("ram", ram)):
            headroom = usage.headroom(resource)
            if headroom is not None and per_server:
                allowed = min(allowed, headroom // per_server)
        if allowed > 0 and min_count <= allowed:
            return _server_amounts(vcpus, ram, allowed)
        count = str(min_count) if min_count == max_count else f"{min_count}-{max_count}"
        requested = {"instances": count, "cores": str(wanted["cores"]), "ram": str(wanted["ram"])}
        raise TooManyInstances(
            overs,
            [requested[resource] for resource in overs],
            [str(usage.used(resource)) for resource in overs],
            [str(usage.limits[resource]) for resource in overs],
        )

    return plan


def volume_plan(size: int) -> Plan:
    """Cinder's volume create: the size limit, then one volume and ``size`` gigabytes."""

    def plan(usage: Usage) -> dict[str, int]:
        per_volume = usage.limits["per_volume_gigabytes"]
        if 0 <= per_volume < size:
            raise VolumeSizeExceedsLimit(size, per_volume)
        amounts = {"volumes": 1, "gigabytes": size}
        _refuse_over(usage, amounts, size, VolumeLimitExceeded)
        return amounts

    return plan


def snapshot_plan(size: int) -> Plan:
    """Cinder's snapshot create: one snapshot and the volume's size in gigabytes."""

    def plan(usage: Usage) -> dict[str, int]:
        amounts = {"snapshots": 1, "gigabytes": size}
        _refuse_over(usage, amounts, size, lambda allowed, name: SnapshotLimitExceeded(allowed))
        return amounts

    return plan


def _refuse_over(
    usage: Usage,
    amounts: dict[str, int],
    size: int,
    count_error: Callable[[int, str], CinderOverQuota],
) -> None:
    """Cinder's ``process_reserve_over_quota``: gigabytes first, then the count."""
    overs = usage.overs(amounts)
    for over in overs:
        if "gigabytes" in over:
            raise VolumeSizeExceedsAvailableQuota(size, usage.limits[over], usage.used(over), over)
    for over in overs:
        raise count_error(usage.limits[over], over)
