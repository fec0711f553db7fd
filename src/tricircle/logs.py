"""Log set-up shared by Tricircle's entry points.

Services (the APIs, the gateways under gunicorn, xjob) stamp each line with the time and the
process, so lines of several workers in one file can be told apart and ordered. One-shot commands
print to a terminal and leave both out.
"""

from __future__ import annotations

import logging

SERVICE_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"
COMMAND_FORMAT = "%(levelname)s %(name)s %(message)s"


def configure_service() -> None:
    """INFO and above, each line with its time and process ID."""
    logging.basicConfig(level=logging.INFO, format=SERVICE_FORMAT)


def configure_command(level: int = logging.INFO) -> None:
    """``level`` and above, without time or process ID."""
    logging.basicConfig(level=level, format=COMMAND_FORMAT)
