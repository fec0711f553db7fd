"""Reconciliation: find and repair drift between the top (Tricircle's database and the central
Neutron) and the pods.

One module per concern, each a ``check(context)`` that reports its findings through the
``ReconcileContext`` (logged, counted, and repaired unless it is a dry run):

- ``routing_rows``: routings whose bottom resource is gone; create-once locks left empty;
- ``neutron_orphans``: bottom networks, subnets, ports, security groups, routers and floating IPs
  named after a top ID but not routed;
- ``servers``: bottom servers Tricircle booted but never routed;
- ``reservations``: per-pod gateway and DHCP reservation ports for pods without the subnet;
- ``vlans``: bottom networks whose VLAN is not the top segment's;
- ``routes``: bottom routers whose extra routes are not what the top routers imply.

``run.reconcile`` runs them in that order; ``commands`` is ``tricircle reconcile`` and ``jobs``
the periodic job of the xjob worker. Every repair is safe to repeat: a second run finds nothing.
"""
