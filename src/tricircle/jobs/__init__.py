"""Durable asynchronous jobs: queue, worker and handlers."""
