"""Tricircle's admin API ``/v1.0``: pods, pod bindings, resource routings and jobs."""
