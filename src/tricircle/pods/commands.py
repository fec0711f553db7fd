"""Subcommands of the pods part."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this part's subcommands (none yet)."""
