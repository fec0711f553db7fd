"""Tricircle's Cinder API gateway: Block Storage v3 in RegionOne, volumes kept in the pods."""
