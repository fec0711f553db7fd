"""Quotas on a project's total over every pod: limits, usage, reservations, the pods' own
quotas. Shared by the Nova and Cinder gateways; imports nothing of ``tricircle.api``."""
