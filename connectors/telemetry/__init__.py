"""Telemetry of every gather-sync process (listener, worker, sink): Prometheus metrics, health
checks and the structlog set-up."""
