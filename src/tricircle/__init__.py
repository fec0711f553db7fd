"""Tricircle: one OpenStack cloud over many pods."""
