"""``python -m tricircle.lab.neutron_agent BINARY ARGS...``: a pod's stock Neutron agent (or its
RPC server) in one process, its privileged calls made in that process.

The lab's agents run as root. Started as they are, each would spawn up to three privsep daemons
(a separate Python of about 120 MiB each, sixteen for two pods) only to make calls it may already
make itself, and the DHCP and L3 agents would fork a worker beside a master doing nothing else.
This launcher switches Neutron's privsep contexts out of client mode, as Neutron's own functional
tests do, launches the agent's service in the process itself (oslo.service's ``no_fork``, which
nova-compute uses too; the RPC server's one worker likewise, where it would fork it beside a
master that only waits), lets the helper processes pyroute2 forks for namespaces stop when told
(a privsep daemon would not have the agent's signal handlers to pass on), and then runs the
console script ``BINARY`` (for example ``neutron-l3-agent``) unchanged.
"""

from __future__ import annotations

import os
import signal
import sys
from importlib import metadata
from typing import Any

from neutron import privileged
from oslo_privsep import priv_context
from oslo_service import service


def run_privileged_calls_in_process() -> list[str]:
    """Take every Neutron privsep context out of client mode; returns their config sections."""
    contexts = [
        value for value in vars(privileged).values() if isinstance(value, priv_context.PrivContext)
    ]
    for context in contexts:
        context.set_client_mode(False)
    return [context.cfg_section for context in contexts]


def launch_services_in_this_process() -> None:
    """Make oslo.service launch every service in the calling process, never in a fork: through
    ``launch`` (the agents) and through a process launcher (the RPC server's single worker: its
    state reports are consumed by that worker, ``rpc_state_report_workers = 0``)."""
    launch = service.launch

    def launch_here(conf: Any, server: Any, workers: int = 1, **options: Any) -> Any:
        return launch(conf, server, workers=1, **{**options, "no_fork": True})

    service.launch = launch_here
    process_launcher = service.ProcessLauncher
    service.ProcessLauncher = lambda conf, **options: process_launcher(
        conf, **{**options, "no_fork": True}
    )


def default_sigterm_in_forks() -> None:
    """Give a plain fork of the agent (pyroute2 forks one per namespace it works in, and stops it
    with SIGTERM) the default SIGTERM action instead of the agent's graceful-shutdown handler."""
    os.register_at_fork(after_in_child=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))


def main() -> None:
    """Run the Neutron console script named by the first argument."""
    binary = sys.argv.pop(1)
    (entry_point,) = metadata.entry_points(group="console_scripts", name=binary)
    run_privileged_calls_in_process()
    launch_services_in_this_process()
    default_sigterm_in_forks()
    sys.argv[0] = binary
    sys.exit(entry_point.load()())


if __name__ == "__main__":
    main()
