"""``python -m tricircle.lab.nova_compute``: the pods' nova-compute with the lab's guest driver.

Nova loads its virt driver only from ``nova.virt.<compute_driver>``; this launcher makes the lab's
driver importable there (as ``nova.virt.tricircle_lab``) and then runs Nova's own nova-compute
entry point unchanged, so ``compute_driver = tricircle_lab.LabGuestDriver`` loads it.
"""

from __future__ import annotations

import sys

from nova.cmd import compute

from tricircle.lab import guest_driver

DRIVER_MODULE = "tricircle_lab"
COMPUTE_DRIVER = f"{DRIVER_MODULE}.{guest_driver.LabGuestDriver.__name__}"


def main() -> None:
    """Alias the lab's driver module under ``nova.virt`` and run nova-compute."""
    sys.modules[f"nova.virt.{DRIVER_MODULE}"] = guest_driver
    sys.argv[0] = "nova-compute"
    compute.main()


if __name__ == "__main__":
    main()
