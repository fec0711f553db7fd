"""Log set-up of the entry points."""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest

from tricircle import logs


def test_service_lines_carry_time_process_level_and_logger() -> None:
    record = logging.LogRecord("tricircle.x", logging.INFO, __file__, 1, "pod call", None, None)
    line = logging.Formatter(logs.SERVICE_FORMAT).format(record)
    date, _time, pid, level, name, message = line.split(" ", 5)
    assert len(date) == 10 and date[4] == "-"
    assert (int(pid), level, name, message) == (os.getpid(), "INFO", "tricircle.x", "pod call")


@pytest.mark.parametrize(
    ("configure", "expected"),
    [
        (logs.configure_service, {"level": logging.INFO, "format": logs.SERVICE_FORMAT}),
        (
            lambda: logs.configure_command(logging.WARNING),
            {"level": logging.WARNING, "format": logs.COMMAND_FORMAT},
        ),
    ],
)
def test_entry_points_configure_the_root_logger(
    monkeypatch: pytest.MonkeyPatch, configure: Any, expected: dict[str, Any]
) -> None:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(logging, "basicConfig", lambda **kwargs: seen.append(kwargs))
    configure()
    assert seen == [expected]
