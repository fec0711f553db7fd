"""Tricircle's Nova API gateway: one ``compute`` endpoint (Nova v2.1) over every pod."""
