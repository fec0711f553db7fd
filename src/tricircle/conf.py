"""Tricircle's configuration options (oslo.config), one group per part.

The layer below every product part: it imports nothing of Tricircle's own.

``list_opts`` feeds ``oslo-config-generator`` (namespace ``tricircle``), which writes
``etc/tricircle.conf.sample``. Options are registered on the global ``CONF`` at import.
"""

from __future__ import annotations

import os

from oslo_config import cfg

CONF = cfg.CONF
CONFIG_FILES_ENV = "TRICIRCLE_CONFIG_FILES"

database_opts = [
    cfg.StrOpt(
        "connection",
        default="sqlite:///tricircle.sqlite",
        secret=True,
        help="SQLAlchemy URL of Tricircle's database: SQLite (the default, a file) or "
        "PostgreSQL (postgresql+psycopg2://user@host/db).",
    ),
    cfg.IntOpt(
        "max_pool_size",
        default=5,
        min=1,
        help="Connections one process keeps open to the database (not SQLite).",
    ),
    cfg.IntOpt(
        "max_overflow",
        default=10,
        min=0,
        help="Connections one process may open beyond max_pool_size while busy (closed after).",
    ),
]

api_opts = [
    cfg.StrOpt("bind_host", default="127.0.0.1", help="Address the admin API listens on."),
    cfg.PortOpt("bind_port", default=19999, help="Port the admin API listens on."),
    cfg.StrOpt(
        "auth_strategy",
        default="keystone",
        choices=[
            ("keystone", "Validate tokens with keystonemiddleware auth_token."),
            ("noauth", "Development only: take project and roles from X-Project-Id/X-Roles."),
        ],
        help="How API callers are authenticated.",
    ),
    cfg.StrOpt("policy_file", default="policy.yaml", help="oslo.policy rules file (optional)."),
]

request_opts = [
    cfg.IntOpt(
        "max_body_bytes",
        default=114688,
        min=1,
        help="Largest request body any Tricircle API reads (oslo.middleware's default); a "
        "larger one is answered 413 in the API's error shape.",
    ),
    cfg.IntOpt(
        "max_url_length",
        default=4096,
        min=256,
        help="Longest path plus query string accepted (414 beyond, in the API's shape). Keep it "
        "below the WSGI server's request line limit so the API answers first: gunicorn with "
        "--limit-request-line 8190 (its largest bounded value) lets about 8170 characters through.",
    ),
    cfg.IntOpt(
        "max_json_depth",
        default=64,
        min=2,
        help="Deepest nesting of arrays and objects accepted in a JSON body (400 beyond).",
    ),
]

xjob_opts = [
    cfg.IntOpt("workers", default=1, min=1, help="Worker threads in one `tricircle xjob`."),
    cfg.FloatOpt("poll_interval", default=1.0, min=0.01, help="Seconds between empty polls."),
    cfg.IntOpt("lease_seconds", default=300, min=1, help="A running job past this is retaken."),
    cfg.FloatOpt("backoff_base", default=2.0, min=0.0, help="First retry delay, in seconds."),
    cfg.FloatOpt("backoff_max", default=600.0, min=0.0, help="Longest retry delay, in seconds."),
    cfg.FloatOpt(
        "reconcile_interval",
        default=300.0,
        min=0.0,
        help="Seconds between the worker's reconciliation passes (drift between the top and the "
        "pods, repaired); 0 disables them (`tricircle reconcile` still works).",
    ),
    cfg.FloatOpt(
        "reconcile_stale_after",
        default=120.0,
        min=1.0,
        help="Seconds after which reconciliation treats an empty create-once routing as left "
        "behind (filled from the bottom resource named after the top ID, else dropped).",
    ),
]

client_opts = [
    cfg.StrOpt("auth_url", help="Keystone v3 URL Tricircle uses to reach the pods."),
    cfg.StrOpt("username", default="tricircle", help="Tricircle's service user."),
    cfg.StrOpt("password", secret=True, help="Password of Tricircle's service user."),
    cfg.StrOpt("project_name", default="service", help="Project of Tricircle's service user."),
    cfg.StrOpt("user_domain_name", default="Default", help="Domain of the service user."),
    cfg.StrOpt("project_domain_name", default="Default", help="Domain of the service project."),
    cfg.StrOpt("top_region_name", default="RegionOne", help="Tricircle's own region."),
    cfg.FloatOpt("connect_timeout", default=5.0, help="Seconds to open a connection to a pod."),
    cfg.FloatOpt("read_timeout", default=60.0, help="Seconds to wait for a pod's answer."),
    cfg.IntOpt(
        "pooled_endpoints",
        default=512,
        min=1,
        help="Pod endpoints (scheme, host and port) whose open connections a process keeps for "
        "reuse; beyond this the least recently used endpoint's connections are closed. At least "
        "the pods times the services called in each, or every fan-out opens new connections. "
        "Each endpoint keeps at most [gateway] pod_call_workers idle connections.",
    ),
]

scheduler_opts = [
    cfg.StrOpt(
        "default_availability_zone",
        help="AZ of a server or volume created without one, for every project; unset: the AZ "
        "of the first pod in region order.",
    ),
]

network_opts = [
    cfg.StrOpt(
        "bridge_cidr",
        default="100.0.0.0/9",
        help="CIDR of every tenant's bridge network (the subnet joining a router's bottom copies "
        "in different pods). Tenant subnets attached to cross-pod routers must not overlap it.",
    ),
]

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
        "show_deadline",
        default=30.0,
        min=0.1,
        help="Seconds a read of one server (or its sub-resources) waits for the server's pod; "
        "then the pod is reported as down (an UNKNOWN record at microversion >= 2.69, else "
        "503). Longer than list_deadline: the caller asked for this one server.",
    ),
    cfg.FloatOpt(
        "boot_timeout",
        default=60.0,
        min=1.0,
        help="Seconds a pod's Nova may take to answer a server create.",
    ),
    cfg.FloatOpt(
        "deleted_server_retention",
        default=7 * 24 * 3600.0,
        min=0.0,
        help="Seconds the pod of a deleted server is remembered after its routing is gone, so "
        "that its instance actions can still be listed (microversion >= 2.21, as Nova does "
        "until its deleted rows are archived). 0 remembers none.",
    ),
]

gateway_opts = [
    cfg.IntOpt(
        "pod_call_workers",
        default=128,
        min=1,
        help="Threads one process uses to call pods at once, shared by every request (cross-pod "
        "lists, searches, merged admin views, quota counts). Calls beyond it wait their turn "
        "within their request's deadline. At least the number of pods, so that one list asks "
        "every pod at once.",
    ),
]

gateway_cache_opts = [
    cfg.FloatOpt(
        "ttl",
        default=5.0,
        min=0.0,
        help="Seconds a gateway process keeps what it read of the pods, top network names, "
        "the pods of servers, volumes and other routed resources, top volume type IDs and "
        "where its server and volume list pages ended (every process calling pods also keeps "
        "their endpoints from the catalog this long); "
        "a change made through another process (a pod disabled, a network renamed, a routing "
        "dropped or moved) is seen within this bound. 0 caches nothing.",
    ),
    cfg.IntOpt(
        "max_entries",
        default=10000,
        min=1,
        help="Entries each of a gateway process's caches holds at most (least recently used "
        "dropped first).",
    ),
]

volume_api_opts = [
    cfg.FloatOpt(
        "list_timeout",
        default=10.0,
        min=0.1,
        help="Seconds a list of volumes or snapshots waits for the pods; a pod that has not "
        "answered by then is left out of the list (and logged).",
    ),
]

# Defaults of a project's limits over every pod: Nova's and Cinder's own defaults.
_QUOTA_DEFAULTS: tuple[tuple[str, int, str], ...] = (
    ("instances", 10, "Servers"),
    ("cores", 20, "Server VCPUs"),
    ("ram", 50 * 1024, "Server RAM, in MiB"),
    ("metadata_items", 128, "Metadata items per server"),
    ("injected_files", 5, "Injected files per server (compute < 2.57)"),
    ("injected_file_content_bytes", 10 * 1024, "Bytes per injected file (compute < 2.57)"),
    ("injected_file_path_bytes", 255, "Bytes per injected file path (compute < 2.57)"),
    ("key_pairs", 100, "Keypairs per user"),
    ("server_groups", 10, "Server groups"),
    ("server_group_members", 10, "Servers per server group"),
    ("floating_ips", 10, "Floating IPs (shown at compute < 2.36 only; Neutron enforces its own)"),
    ("fixed_ips", -1, "Fixed IPs (shown at compute < 2.36 only)"),
    ("security_groups", 10, "Security groups (shown at compute < 2.36 only)"),
    ("security_group_rules", 20, "Security group rules (shown at compute < 2.36 only)"),
    ("volumes", 10, "Volumes"),
    ("snapshots", 10, "Volume snapshots"),
    ("gigabytes", 1000, "Gigabytes of volumes and snapshots"),
    ("backups", 10, "Volume backups"),
    ("backup_gigabytes", 1000, "Gigabytes of volume backups"),
    ("groups", 10, "Volume groups"),
    ("per_volume_gigabytes", -1, "Gigabytes of one volume"),
)

quota_opts: list[cfg.Opt] = [
    cfg.IntOpt(
        name,
        default=default,
        min=-1,
        help=f"{what}: default limit on a project's total over every pod (-1: unlimited).",
    )
    for name, default, what in _QUOTA_DEFAULTS
] + [
    cfg.IntOpt(
        "reservation_expire",
        default=600,
        min=1,
        help="Seconds a create in flight holds its quota reservation at most (a gateway that "
        "dies mid-create leaves one behind that counts no longer than this).",
    ),
    cfg.FloatOpt(
        "usage_timeout",
        default=10.0,
        min=0.1,
        help="Seconds the pods have to report a project's usage; a quota check that cannot "
        "count every pod holding the project's resources refuses the create (503), unless "
        "that pod was counted within `usage_fallback_age`.",
    ),
    cfg.FloatOpt(
        "usage_fallback_age",
        default=600.0,
        min=0.0,
        help="A pod that cannot report a project's usage (down, too slow) counts with the "
        "usage last counted there by any gateway process, if no older than this many "
        "seconds, plus what was reserved through Tricircle since: a pod whose API does not "
        "answer takes no new resources through it, so creates in the other pods go on. 0 "
        "refuses every create (503) while a pod cannot be counted.",
    ),
    cfg.FloatOpt(
        "usage_reuse_age",
        default=30.0,
        min=0.0,
        help="A create reuses a project's usage counted in a pod (by any gateway process) if "
        "no older than this many seconds (and than `reservation_expire`), adding what was "
        "reserved through Tricircle since that count, instead of asking the pod again. A "
        "create the estimate would refuse, or would leave less room than it takes, counts "
        "every pod afresh first. Deletes made since only count too high; creates and resizes "
        "made straight in a pod, or resizes through the gateway, are seen at most this late. "
        "0 counts every pod on every create.",
    ),
]

GROUPS: dict[str, list[cfg.Opt]] = {
    "database": database_opts,
    "api": api_opts,
    "request": request_opts,
    "xjob": xjob_opts,
    "client": client_opts,
    "network": network_opts,
    "scheduler": scheduler_opts,
    "compute": compute_opts,
    "gateway": gateway_opts,
    "gateway_cache": gateway_cache_opts,
    "volume_api": volume_api_opts,
    "quota": quota_opts,
}

for _group, _opts in GROUPS.items():
    CONF.register_opts(_opts, group=_group)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """Every option group, for oslo-config-generator."""
    return list(GROUPS.items())


def environment_config_files() -> list[str]:
    """The config files named by ``TRICIRCLE_CONFIG_FILES`` (separated by ``;``)."""
    return [path for path in os.environ.get(CONFIG_FILES_ENV, "").split(";") if path]


def load(config_files: list[str] | None = None, args: list[str] | None = None) -> cfg.ConfigOpts:
    """Parse the config files (and no command-line options) into the global CONF."""
    CONF(args or [], project="tricircle", default_config_files=config_files or [])
    return CONF
