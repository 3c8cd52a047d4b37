"""The metrics every process exports at `/metrics`, one definition each; `serve` also answers
`/livez` and `/readyz` on the same port (health.py).

Counters are per stage (listener, worker, sink) and tenant, so a dashboard can follow one
tenant's changes through the pipeline. Names follow Prometheus' conventions (base units, a
`_total` suffix on counters): https://prometheus.io/docs/practices/naming/
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import structlog
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.telemetry.health import HEALTH, Health

log = structlog.get_logger(__name__)

MESSAGES_IN = Counter("gather_sync_messages_in", "Messages a stage took in", ["stage", "tenant"])
MESSAGES_OUT = Counter(
    "gather_sync_messages_out",
    "Messages a stage handed on (listener: changes to Kafka; worker: upserts; sink: rows)",
    ["stage", "tenant"],
)
DLQ_MESSAGES = Counter(
    "gather_sync_dlq_messages", "Messages a stage sent to a dead-letter topic", ["stage", "tenant"]
)
RETRIES = Counter(
    "gather_sync_retries",
    "Retries of work a dependency failed transiently (sink: a batch the database did not take)",
    ["stage", "reason"],
)
WAITING = Gauge(
    "gather_sync_waiting",
    "1 while a stage waits for a dependency that is down (kafka, database) before going on",
    ["stage", "dependency"],
)
KAFKA_CLIENT_ERRORS = Counter(
    "gather_sync_kafka_client_errors",
    "Errors a Kafka client reported as a whole (librdkafka's error_cb: all brokers down, a "
    "connection refused), by stage and librdkafka code",
    ["stage", "code"],
)
CONSUMER_ERRORS = Counter(
    "gather_sync_consumer_errors",
    "Errors a Kafka consumer reported through msg.error() (end of partition excluded)",
    ["stage", "code"],
)
END_TO_END_DELAY = Histogram(
    "gather_sync_end_to_end_delay_seconds",
    "From the Salesforce commit to the store's commit of the row (backfills count as old)",
    ["tenant"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, float("inf")),
)
SUBSCRIPTION_UP = Gauge(
    "gather_sync_subscription_up", "1 while the tenant's CometD session is subscribed", ["tenant"]
)
KAFKA_UNACKNOWLEDGED = Gauge(
    "gather_sync_listener_waiting_for_kafka",
    "1 while the tenant's stream takes no Salesforce events because Kafka has not acknowledged "
    "its changes (each such wait also counts in gather_sync_retries_total{stage=listener})",
    ["tenant"],
)
TENANT_RESTARTS = Counter(
    "gather_sync_tenant_restarts",
    "Restarts of a tenant's stream after an exception it did not handle (listener)",
    ["tenant"],
)
CONFIG_PROBLEMS = Gauge(
    "gather_sync_config_problems",
    "What the tenant's config names that its org lacks or cannot compare as asked, as the "
    "listener found at subscribe time (0: the config fits the org)",
    ["tenant"],
)
RECORDS_SKIPPED = Counter(
    "gather_sync_records_skipped",
    "Records the rules did not sync, by reason (worker: filtered, not_closed_won, no_id, "
    "types_unknown, tenant_not_configured, unseen; sink: no_match_in_gather)",
    ["tenant", "object", "reason"],
)
STAGE_FAILURES = Counter(
    "gather_sync_stage_failures",
    "Messages or tasks a stage failed on and went past (each also logged, most dead-lettered)",
    ["stage", "tenant"],
)
API_REQUESTS = Counter(
    "gather_sync_salesforce_api_requests", "Salesforce REST calls made", ["tenant"]
)
API_USAGE = Gauge(
    "gather_sync_salesforce_api_usage_ratio",
    "Daily API requests used / allowed, from Sforce-Limit-Info",
    ["tenant"],
)


class MetricsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="METRICS_", frozen=True, extra="ignore")

    port: int = Field(
        default=9100, ge=0, le=65535, description="METRICS_PORT: /metrics port; 0 turns it off"
    )
    host: str = Field(default="0.0.0.0", description="METRICS_HOST: address to listen on")


def serve(settings: MetricsSettings, process: str, health: Health = HEALTH) -> bool:
    """Start `/metrics`, `/livez` and `/readyz`; a port already taken is logged, never fatal to
    the pipeline."""
    if settings.port == 0:
        return False
    try:
        _start(settings.host, settings.port, health)
    except OSError as e:
        log.error(
            "metrics not served; set METRICS_PORT",
            process=process,
            port=settings.port,
            error=str(e),
        )
        return False
    url = f"http://{settings.host}:{settings.port}"
    log.info("metrics served", process=process, url=f"{url}/metrics", health=f"{url}/readyz")
    return True


Environ = dict[str, Any]
StartResponse = Callable[..., object]
Wsgi = Callable[[Environ, StartResponse], Iterable[bytes]]


def wsgi_app(health: Health, registry: Collector = REGISTRY) -> Wsgi:
    """`/livez` and `/readyz` from `health` (200 or 503, JSON); any other path, the metrics."""
    metrics: Wsgi = make_wsgi_app(registry)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        report = {"/livez": health.liveness, "/readyz": health.readiness}.get(
            environ.get("PATH_INFO", "")
        )
        if report is None:
            return metrics(environ, start_response)
        result = report()
        body = result.body()
        status = "200 OK" if result.ok else "503 Service Unavailable"
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Probes come every few seconds: no access log line for each."""


def _start(host: str, port: int, health: Health) -> None:
    """prometheus_client's `start_http_server`, with the health paths in front of it."""

    class Server(ThreadingWSGIServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    server = make_server(host, port, wsgi_app(health), Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()


class FreshnessCollector(Collector):
    """`gather_sync_freshness_seconds{tenant}`: now minus the newest applied commit, at scrape."""

    def __init__(
        self, newest: Callable[[], dict[str, datetime]], now: Callable[[], datetime]
    ) -> None:
        self._newest, self._now = newest, now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "gather_sync_freshness_seconds",
            "Age of the newest Salesforce commit applied to the store",
            labels=["tenant"],
        )
        now = self._now()
        for tenant, commit_at in sorted(self._newest().items()):
            family.add_metric([tenant], max(0.0, (now - commit_at).total_seconds()))
        yield family


def register_freshness(collector: FreshnessCollector) -> None:
    REGISTRY.register(collector)
