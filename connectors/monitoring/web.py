"""The dashboard's HTTP side: the page, its JSON, a health check and Prometheus metrics.

`/metrics` is rendered from the newest lag report at scrape time by a collector of this
module's own, in a registry of its own, so a partition or tenant that went away leaves no stale
sample behind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from connectors.kafka.lag import LagReport, PartitionLag, Status, TenantFreshness
from connectors.monitoring.history import SeriesHistory, series_json

PAGE = Path(__file__).resolve().parent / "static" / "dashboard.html"
HISTORY = web.AppKey("history", SeriesHistory)
REGISTRY = web.AppKey("registry", CollectorRegistry)
# (tenant, object, Salesforce id) -> the explanation as JSON, with its text under "text"
Explainer = Callable[[str, str, str], Awaitable[dict[str, Any]]]
EXPLAINER: web.AppKey[Explainer] = web.AppKey("explainer")
PARTITION_LABELS = ("group", "topic", "partition")


# --- metrics ----------------------------------------------------------------------------------


def lag_families(partitions: Sequence[PartitionLag]) -> list[GaugeMetricFamily]:
    messages = GaugeMetricFamily(
        "gather_sync_consumer_lag_messages",
        "Messages a consumer group has yet to read in a partition (last stable offset - committed)",
        labels=PARTITION_LABELS,
    )
    seconds = GaugeMetricFamily(
        "gather_sync_consumer_lag_seconds",
        "How long the oldest unread message of the partition has waited",
        labels=PARTITION_LABELS,
    )
    status = GaugeMetricFamily(
        "gather_sync_consumer_status",
        "Burrow's status of the partition: 1 for the current status, 0 for the others",
        labels=(*PARTITION_LABELS, "status"),
    )
    for p in partitions:
        labels = [p.group, p.topic, str(p.partition)]
        messages.add_metric(labels, p.lag)
        if p.lag_seconds is not None:
            seconds.add_metric(labels, p.lag_seconds)
        for value in Status:
            status.add_metric([*labels, str(value)], 1.0 if p.status is value else 0.0)
    return [messages, seconds, status]


def freshness_family(rows: Iterable[TenantFreshness]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "gather_sync_freshness_seconds",
        "Age of the newest Salesforce commit applied to the Gather store, per tenant",
        labels=("tenant",),
    )
    for row in rows:
        family.add_metric([row.tenant], row.age_seconds)
    return family


def report_families(report: LagReport | None) -> list[GaugeMetricFamily]:
    partitions = report.partitions if report else []
    freshness = report.freshness if report and report.freshness else []
    return [*lag_families(partitions), freshness_family(freshness)]


class ReportCollector:
    """A prometheus_client collector over the history's newest report."""

    def __init__(self, history: SeriesHistory) -> None:
        self.history = history

    def collect(self) -> Iterable[Metric]:
        return report_families(self.history.latest)


def metrics_registry(history: SeriesHistory) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(ReportCollector(history))
    return registry


# --- routes -----------------------------------------------------------------------------------


async def page(_request: web.Request) -> web.StreamResponse:
    return web.FileResponse(PAGE, headers={"Cache-Control": "no-store"})


async def api_series(request: web.Request) -> web.Response:
    return web.json_response(
        series_json(request.app[HISTORY]), headers={"Cache-Control": "no-store"}
    )


async def healthz(request: web.Request) -> web.Response:
    history = request.app[HISTORY]
    latest = history.latest
    body = {
        "status": "ok",
        "last_sample_at": None if latest is None else latest.at,
        "error": history.error,
    }
    return web.json_response(body)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def api_explain(request: web.Request) -> web.Response:
    """The page's search box: `gather-sync explain` for one record."""
    asked = {name: request.query.get(name, "").strip() for name in ("tenant", "object", "id")}
    if missing := [name for name, value in asked.items() if not value]:
        return web.json_response({"error": f"missing: {', '.join(missing)}"}, status=400)
    try:
        found = await request.app[EXPLAINER](asked["tenant"], asked["object"], asked["id"])
    except Exception as e:  # shown on the page: the broker or store is away, say
        return web.json_response({"error": f"{type(e).__name__}: {e}"}, status=502)
    return web.json_response(found, headers={"Cache-Control": "no-store"})


def make_app(
    history: SeriesHistory,
    registry: CollectorRegistry | None = None,
    explainer: Explainer | None = None,
) -> web.Application:
    app = web.Application()
    app[HISTORY] = history
    if explainer is not None:
        app[EXPLAINER] = explainer
        app.router.add_get("/api/explain", api_explain)
    app[REGISTRY] = registry or metrics_registry(history)
    app.router.add_get("/", page)
    app.router.add_get("/api/series", api_series)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app
