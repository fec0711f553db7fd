"""Options of the Nova API gateway (group ``[compute]``).

Imports nothing of Tricircle's own: ``tricircle.conf`` lists these options with the others.
"""

from __future__ import annotations

from oslo_config import cfg

GROUP = "compute"

compute_opts = [
    cfg.StrOpt("bind_host", default="127.0.0.1", help="Address the Nova API gateway listens on."),
    cfg.PortOpt("bind_port", default=19998, help="Port the Nova API gateway listens on."),
    cfg.StrOpt(
        "max_microversion",
        default="2.100",
        regex=r"^2\.(0|[1-9]\d*)$",
        help="Highest compute microversion the gateway implements; the advertised maximum is "
        "the lowest of this and every reachable pod's maximum.",
    ),
    cfg.FloatOpt(
        "pod_versions_ttl",
        default=60.0,
        min=0.0,
        help="Seconds a pod's maximum microversion is cached before it is asked again.",
    ),
    cfg.FloatOpt(
        "list_deadline",
        default=5.0,
        min=0.1,
        help="Seconds a cross-pod list waits for the pods; a pod that has not answered by then "
        "is reported as down (UNKNOWN records at microversion >= 2.69, else left out).",
    ),
    cfg.FloatOpt(
        "boot_timeout",
        default=60.0,
        min=1.0,
        help="Seconds a pod's Nova may take to answer a server create.",
    ),
]


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """The ``[compute]`` group, for oslo-config-generator."""
    return [(GROUP, compute_opts)]
