"""Pods: registry, scheduling, bindings and the clients that reach each pod."""
