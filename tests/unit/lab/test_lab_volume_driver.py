"""The lab's volume driver, tested in a process of its own (``volume_driver_cases.py``).

Importing Cinder registers its options (``[database] connection`` among them) in oslo.config's
process-wide configuration, where Tricircle's own modules, imported by the rest of the unit
suite, registered theirs: the two cannot share one process. In the lab, too, the driver runs in
a pod's cinder-volume, a process of its own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CASES = Path(__file__).with_name("volume_driver_cases.py")


def test_the_volume_driver_cases_pass_in_their_own_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(CASES)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
