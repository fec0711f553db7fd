"""Tricircle's Cinder API gateway: Block Storage v3 in RegionOne, volumes kept in the pods.

Served as ``tricircle.api.volume.wsgi:volume_application()`` (``volumev3`` and ``block-storage``
in RegionOne). Each call reaches a pod's own Cinder with the caller's token (one shared
Keystone), at the microversion negotiated at the gateway (at most what every pod supports).

- ``versions``: ``GET /`` and ``/v3`` (no token needed).
- ``volumes``: create in the pod of the project's binding in the AZ (``pods.scheduler``), or of
  the source snapshot or volume, with the pod's own AZ at the bottom and the pod's ID kept as the
  top ID (routing ``volume``); show, update, delete, actions and metadata forwarded to the pod.
- ``snapshots``: made in the volume's pod (routing ``snapshot``), forwarded like volumes.
- ``listing``: volumes and snapshots across pods (``pods.lister``), merge-sorted, marker pages.
- ``types``: volume types kept in Tricircle's database, copied once into a pod on first use.
- ``limits``: limits, quotas and the volume summary summed over the pods.
- ``zones``: the AZs users see.
"""
