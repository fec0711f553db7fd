"""Options of the Cinder gateway (group ``[volume_api]``, oslo.config namespace
``tricircle.volume``)."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "volume_api"

volume_api_opts = [
    cfg.FloatOpt(
        "list_timeout",
        default=10.0,
        min=0.1,
        help="Seconds a list of volumes or snapshots waits for the pods; a pod that has not "
        "answered by then is left out of the list (and logged).",
    ),
]


def register(conf: cfg.ConfigOpts) -> None:
    """Register the gateway's options on ``conf`` (idempotent)."""
    conf.register_opts(volume_api_opts, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """The gateway's options, for oslo-config-generator."""
    return [(GROUP, volume_api_opts)]
