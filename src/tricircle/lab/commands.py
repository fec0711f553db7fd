"""``tricircle lab up|status|down|env``."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``lab`` command group."""
    parser = subparsers.add_parser("lab", help="The local lab of real OpenStack pods.")
    parser.set_defaults(handler=lambda _args: parser.print_help())
