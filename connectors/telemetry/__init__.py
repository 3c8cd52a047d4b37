"""Prometheus metrics of every gather-sync process (listener, worker, sink)."""
