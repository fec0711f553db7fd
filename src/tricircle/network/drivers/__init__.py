"""ML2 type drivers of the central Neutron: entry points ``shared_vlan``, ``tricircle_local``."""
