"""Tricircle's own database: pods, bindings, routings and jobs."""
