"""``tricircle lab up|status|down|env``: the local lab of real OpenStack pods."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from tricircle import conf
from tricircle.lab import faults, guests, lab, namespaces, outside, processes, scenario, tempest
from tricircle.lab.cloud_config import write_clouds_yaml
from tricircle.lab.layout import LabLayout

DEFAULT_DIR = ".lab"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``lab`` command group."""
    parser = subparsers.add_parser("lab", help="The local lab of real OpenStack pods.")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(os.environ.get("TRICIRCLE_LAB_DIR", DEFAULT_DIR)),
        help="State directory (default: $TRICIRCLE_LAB_DIR or ./.lab).",
    )
    actions = parser.add_subparsers(dest="lab_command", required=True)
    up = actions.add_parser("up", help="Start Keystone, Glance and N pods (idempotent).")
    up.add_argument("--pods", type=int, default=2, help="Number of pods (default 2).")
    up.add_argument(
        "--base-port",
        type=int,
        default=int(os.environ.get("TRICIRCLE_LAB_BASE_PORT", "18000")),
        help="First loopback port of the lab (default 18000).",
    )
    up.add_argument(
        "--network-only",
        action="store_true",
        help="Leave out each pod's Nova and Placement (Keystone, Glance, Neutrons, Tricircle).",
    )
    up.set_defaults(handler=_up)
    actions.add_parser(
        "demo", help="Boot one server directly in each pod and print where it landed."
    ).set_defaults(handler=_demo)
    actions.add_parser("status", help="Show each process and its memory.").set_defaults(
        handler=_status
    )
    actions.add_parser("down", help="Stop every process the lab started.").set_defaults(
        handler=_down
    )
    kill = actions.add_parser(
        "kill", help="Send a signal (default KILL) to one of the lab's processes (fault injection)."
    )
    kill.add_argument("name", help="The process, as `lab status` names it.")
    kill.add_argument(
        "--signal",
        default="KILL",
        choices=["KILL", "TERM", "INT", "STOP", "CONT"],
        help=(
            "KILL, TERM and INT (PostgreSQL's fast shutdown) wait until the process is gone; "
            "STOP pauses it, CONT resumes it."
        ),
    )
    kill.set_defaults(handler=_kill)
    restart = actions.add_parser(
        "restart",
        help="Start a killed process again as `lab up` started it; wait until it answers.",
    )
    restart.add_argument("name", help="The process, as `lab status` names it.")
    restart.set_defaults(handler=_restart)
    actions.add_parser(
        "env", help="Print OS_* exports for the admin in RegionOne; write clouds.yaml."
    ).set_defaults(handler=_env)
    guest = actions.add_parser(
        "guest",
        help="Run a command inside a server's guest (the lab's ssh): guest SERVER_ID -- CMD...",
    )
    guest.add_argument("server_id", help="The server's ID (as RegionOne shows it).")
    guest.add_argument("command", nargs=argparse.REMAINDER, help="The command and its arguments.")
    guest.set_defaults(handler=_guest)
    outside_host = actions.add_parser(
        "outside",
        help="Run a command in the outside host (the internet beyond the pods): outside -- CMD...",
    )
    outside_host.add_argument(
        "command", nargs=argparse.REMAINDER, help="The command and its arguments."
    )
    outside_host.set_defaults(handler=_outside)
    run_tempest = actions.add_parser(
        "tempest",
        help="Run stock tempest against RegionOne (configured from the running lab).",
    )
    run_tempest.add_argument(
        "--regex",
        default=r"^tempest\.api\.(compute|volume|network)\.",
        help="Tests to run (default: the compute, volume and network API packages).",
    )
    run_tempest.add_argument(
        "--exclude-list", type=Path, help="File of regexes of tests to leave out, with reasons."
    )
    run_tempest.add_argument("--concurrency", type=int, default=2, help="Workers (default 2).")
    run_tempest.set_defaults(handler=_tempest)


def _saved(args: argparse.Namespace) -> LabLayout | None:
    layout = LabLayout.load(args.dir.resolve())
    if layout is None:
        print(f"no lab in {args.dir.resolve()}", file=sys.stderr)
    return layout


def _up(args: argparse.Namespace) -> int:
    if args.pods < 1:
        print("--pods must be at least 1", file=sys.stderr)
        return 2
    layout = LabLayout(
        root=args.dir.resolve(),
        pods=args.pods,
        base_port=args.base_port,
        compute=not args.network_only,
    )
    try:
        lab.up(layout)
    except processes.LabError as error:
        print(f"lab up failed: {error}", file=sys.stderr)
        return 1
    write_clouds_yaml(layout)
    return 0


def _status(args: argparse.Namespace) -> int:
    layout = _saved(args)
    if layout is None:
        return 1
    rows = lab.status(layout)
    for row in rows:
        state = f"running pid {row.pid}" if row.pid else "stopped"
        print(f"{row.name:<22} {state:<20} RSS {row.rss_mb:7.1f} MiB  PSS {row.pss_mb:7.1f} MiB")
    rss = sum(row.rss_mb for row in rows)
    pss = sum(row.pss_mb for row in rows)
    print(f"{'total':<22} {'':<20} RSS {rss:7.1f} MiB  PSS {pss:7.1f} MiB")
    return 0 if all(row.pid for row in rows) else 3


def _kill(args: argparse.Namespace) -> int:
    layout = _saved(args)
    if layout is None:
        return 1
    if not processes.alive(layout, args.name):
        print(f"{args.name} is not running", file=sys.stderr)
        return 1
    sig = signal.Signals[f"SIG{args.signal}"]
    if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
        faults.stop(layout, args.name, sig)
    else:
        faults.send(layout, args.name, sig)
    print(f"{args.name}: SIG{args.signal} sent")
    return 0


def _restart(args: argparse.Namespace) -> int:
    layout = _saved(args)
    if layout is None:
        return 1
    try:
        faults.restart(layout, args.name)
    except processes.LabError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{args.name}: running pid {processes.recorded(layout)[args.name]}")
    return 0


def _down(args: argparse.Namespace) -> int:
    layout = _saved(args)
    if layout is None:
        return 0
    stopped = lab.down(layout)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    left = lab.leftovers(layout)
    if left:
        print(f"still left after down: {', '.join(left)}", file=sys.stderr)
        return 1
    return 0


def _env(args: argparse.Namespace) -> int:
    layout = _saved(args)
    if layout is None:
        return 1
    clouds = write_clouds_yaml(layout)
    for key, value in layout.admin_auth().items():
        print(f"export {key}={value}")
    print(f"export OS_CLIENT_CONFIG_FILE={clouds}")
    print(f"export {conf.CONFIG_FILES_ENV}={layout.root / 'tricircle' / 'tricircle.conf'}")
    return 0


def _command(args: argparse.Namespace, usage: str) -> list[str]:
    """The command after ``--``; empty (and the usage printed) if none was given."""
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print(f"no command given: {usage}", file=sys.stderr)
    return command


def _guest(args: argparse.Namespace) -> int:
    layout = _saved(args)
    if layout is None:
        return 1
    command = _command(args, "guest SERVER_ID -- COMMAND...")
    if not command:
        return 2
    try:
        server_id = str(uuid.UUID(args.server_id))
        argv = guests.command_argv(layout, server_id, command)
    except ValueError:
        print(f"not a server ID: {args.server_id!r}", file=sys.stderr)
        return 2
    except guests.GuestError as error:
        print(error, file=sys.stderr)
        return 1
    return subprocess.run(argv, check=False).returncode


def _outside(args: argparse.Namespace) -> int:
    layout = _saved(args)
    if layout is None:
        return 1
    command = _command(args, "outside -- COMMAND...")
    if not command:
        return 2
    if not namespaces.exists(layout.outside_namespace):
        print(f"the lab in {layout.root} has no outside host: is it up?", file=sys.stderr)
        return 1
    return subprocess.run(outside.command_argv(layout, command), check=False).returncode


def _tempest(args: argparse.Namespace) -> int:
    layout = _saved(args)
    if layout is None or not lab.is_running(layout):
        print("the lab is not running: run `tricircle lab up` first", file=sys.stderr)
        return 1
    directory = tempest.write_config(layout, tempest.read_facts(layout))
    # tempest runs in its own workspace: a relative path would name nothing there
    exclude_list = args.exclude_list.resolve() if args.exclude_list else None
    argv = tempest.run_argv(args.regex, exclude_list, args.concurrency)
    result = subprocess.run(argv, cwd=directory, stdout=subprocess.PIPE, text=True, check=False)
    print(result.stdout)
    counts = tempest.totals(result.stdout)
    skipped = sum(count for name, count in counts.items() if name.startswith("Skipped"))
    print(f"{counts.get('Passed', 0)} passed, {counts.get('Failed', 0)} failed, {skipped} skipped")
    return result.returncode


def _demo(args: argparse.Namespace) -> int:
    layout = _saved(args)
    if layout is None or not lab.is_running(layout):
        print("the lab is not running: run `tricircle lab up` first", file=sys.stderr)
        return 1
    scenario.run(layout)
    return 0
