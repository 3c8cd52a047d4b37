"""The Grafana dashboard (deploy/grafana/gather-sync.json) and the Prometheus alert rules
(deploy/prometheus/alerts.yaml): every metric they use is one the processes export, with labels
it has; every panel query and rule expression parses as PromQL (promql-parser). promtool's own
check and the rules' unit tests run with `make check-alerts`: promtool is a Go build of about ten
minutes here, too long for CI."""

from __future__ import annotations

import json
import re
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from connectors.monitoring.web import report_families
from connectors.telemetry import metrics as telemetry
from tests.deploy.helm import REPO

GRAFANA = REPO / "deploy" / "grafana" / "gather-sync.json"
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yaml"
ALERT_TESTS = REPO / "deploy" / "prometheus" / "alerts.test.yaml"

PARTITION = {"group", "topic", "partition"}
STAGE = {"stage", "tenant"}
# Every sample name the processes export, with its labels: the dashboard's gauges and the
# listener's, worker's and sink's metrics (connectors/telemetry/metrics.py).
KNOWN: dict[str, set[str]] = {
    "gather_sync_consumer_lag_messages": PARTITION,
    "gather_sync_consumer_lag_seconds": PARTITION,
    "gather_sync_consumer_status": PARTITION | {"status"},
    "gather_sync_freshness_seconds": {"tenant"},
    "gather_sync_messages_in_total": STAGE,
    "gather_sync_messages_out_total": STAGE,
    "gather_sync_dlq_messages_total": STAGE,
    "gather_sync_end_to_end_delay_seconds_bucket": {"tenant", "le"},
    "gather_sync_end_to_end_delay_seconds_sum": {"tenant"},
    "gather_sync_end_to_end_delay_seconds_count": {"tenant"},
    "gather_sync_subscription_up": {"tenant"},
    "gather_sync_salesforce_api_requests_total": {"tenant"},
    "gather_sync_salesforce_api_usage_ratio": {"tenant"},
    "gather_sync_retries_total": {"stage", "reason"},
    "gather_sync_consumer_errors_total": {"stage", "code"},
    "gather_sync_tenant_restarts_total": {"tenant"},
    "gather_sync_config_problems": {"tenant"},
    "gather_sync_records_skipped_total": {"tenant", "object", "reason"},
    "gather_sync_stage_failures_total": STAGE,
    "gather_sync_waiting": {"stage", "dependency"},
    "gather_sync_listener_waiting_for_kafka": {"tenant"},
    "gather_sync_kafka_client_errors_total": {"stage", "code"},
}
ALERT_NAMES = {
    "GatherSyncConsumerLagGrowing",
    "GatherSyncConsumerStopped",
    "GatherSyncConsumerStalled",
    "GatherSyncFreshnessOverBound",
    "GatherSyncDeadLettersNotEmpty",
    "GatherSyncSubscriptionDown",
    "GatherSyncTenantRestarting",
    "GatherSyncConfigMisfitsOrg",
    "GatherSyncWaitingForDependency",
}
SELECTOR = re.compile(r"\b([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}")
METRIC = re.compile(r"\bgather_sync_\w+")
MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
DURATION = re.compile(r"^\d+[smhd]$")


# --- readers ----------------------------------------------------------------------------------


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GRAFANA.read_text(encoding="utf-8"))
    return data


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def panel_queries() -> list[tuple[str, str]]:
    """(panel title, expr) of every query of every panel."""
    return [
        (panel["title"], target["expr"])
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
    ]


def variable_queries() -> list[str]:
    return [v["definition"] for v in dashboard()["templating"]["list"] if v["type"] == "query"]


def all_expressions() -> list[str]:
    return (
        [expr for _, expr in panel_queries()]
        + [rule["expr"] for rule in alert_rules()]
        + variable_queries()
    )


def problems_in(expr: str) -> list[str]:
    """Unknown metrics, selectors of other metrics, unknown labels in matchers or groupings."""
    used = set(METRIC.findall(expr))
    problems = [f"unknown metric {m}" for m in sorted(used - set(KNOWN))]
    labels = set().union(*(KNOWN.get(m, set()) for m in used))
    for name, matchers in SELECTOR.findall(expr):
        if name not in KNOWN:
            problems.append(f"selector of a metric not exported: {name}")
            continue
        for label in MATCHER.findall(matchers):
            if label not in KNOWN.get(name, set()):
                problems.append(f"{name} has no label {label}")
    for grouping in GROUPING.findall(expr):
        for label in (part.strip() for part in grouping.split(",")):
            if label and label not in labels:
                problems.append(f"grouping by {label}, which no metric used here has")
    if not used:
        problems.append("uses no gather-sync metric")
    return problems


def exported_names() -> set[str]:
    """Sample names of the dashboard's collector and of the telemetry module's metrics."""
    names = {family.name for family in report_families(None)}
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    for value in vars(telemetry).values():
        if isinstance(value, MetricWrapperBase):
            for metric in value.describe():
                names |= {metric.name + s for s in suffixes[metric.type]}
    names.add("gather_sync_freshness_seconds")  # the sink's collector, and the dashboard's
    return names


# --- the metric names ------------------------------------------------------------------------


def test_given_the_metric_list_then_it_is_exactly_what_the_processes_export() -> None:
    assert exported_names() == set(KNOWN)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        pytest.param("max by (tenant) (gather_sync_freshness_seconds) > 900", [], id="valid"),
        pytest.param(
            "gather_sync_freshnes_seconds > 1",
            ["unknown metric gather_sync_freshnes_seconds"],
            id="a misspelt metric",
        ),
        pytest.param(
            'gather_sync_subscription_up{tennant="a"}',
            ["gather_sync_subscription_up has no label tennant"],
            id="a label the metric lacks",
        ),
        pytest.param(
            "sum by (group) (gather_sync_dlq_messages_total)",
            ["grouping by group, which no metric used here has"],
            id="grouping by a missing label",
        ),
        pytest.param(
            'up{job="x"} == 0',
            ["selector of a metric not exported: up", "uses no gather-sync metric"],
            id="another exporter's metric",
        ),
    ],
)
def test_given_an_expression_when_checked_then_its_problems_are_named(
    expr: str, expected: list[str]
) -> None:
    assert problems_in(expr) == expected


def test_given_the_dashboard_and_the_rules_then_every_expression_uses_known_metrics_and_labels() -> (
    None
):
    problems = {expr: problems_in(expr) for expr in all_expressions()}

    assert {expr: found for expr, found in problems.items() if found} == {}


def test_given_the_dashboard_then_every_exported_metric_is_on_a_panel() -> None:
    used = {m for _, expr in panel_queries() for m in METRIC.findall(expr)}
    histogram_parts = {"gather_sync_end_to_end_delay_seconds_sum"}
    histogram_parts.add("gather_sync_end_to_end_delay_seconds_count")

    assert set(KNOWN) - used == histogram_parts  # the quantiles need the buckets only


# --- the Grafana dashboard --------------------------------------------------------------------


def test_given_the_grafana_json_then_panels_have_unique_ids_a_place_and_queries_on_the_variable() -> (
    None
):
    data = dashboard()
    panels = data["panels"]
    ids = [p["id"] for p in panels]

    assert data["uid"] == "gather-sync" and isinstance(data["schemaVersion"], int)
    assert len(ids) == len(set(ids))
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
    variables = {v["name"] for v in data["templating"]["list"]}
    assert variables == {"datasource", "group", "tenant"}


def test_given_the_grafana_json_then_lag_and_freshness_panels_are_per_group_and_per_tenant() -> (
    None
):
    queries = dict(panel_queries())

    assert "sum by (group)" in queries["Consumer lag (messages)"]
    assert "max by (group)" in queries["Consumer lag (seconds)"]
    assert "max by (tenant)" in queries["Freshness"]
    assert "$tenant" in queries["Freshness"] and "$group" in queries["Consumer lag (messages)"]


def test_given_every_panel_query_and_alert_then_it_parses_as_promql() -> None:
    """Prometheus' grammar (promql-parser); `make check-alerts` also runs promtool on the rules."""
    failures = {}
    for expr in [e for _, e in panel_queries()] + [r["expr"] for r in alert_rules()]:
        try:
            promql_parser.parse(expr.replace("$group", ".*").replace("$tenant", ".*"))
        except ValueError as e:
            failures[expr] = str(e)

    assert failures == {}
    with pytest.raises(ValueError, match="unclosed left parenthesis"):
        promql_parser.parse("sum(rate(gather_sync_dlq_messages_total[5m])")


# --- the alert rules --------------------------------------------------------------------------


def test_given_the_rule_file_then_it_has_the_alerts_each_with_severity_and_annotations() -> None:
    rules = alert_rules()

    assert {r["alert"] for r in rules} == ALERT_NAMES
    assert len(rules) == len(ALERT_NAMES)
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert set(rule["annotations"]) == {"summary", "description"}, rule["alert"]
        assert DURATION.match(rule.get("for", "0s")), rule["alert"]


@pytest.mark.parametrize(
    ("alert", "expr_parts", "for_"),
    [
        pytest.param(
            "GatherSyncConsumerLagGrowing",
            ["deriv(", "[10m:1m]", "> 0", "> 1000"],
            "10m",
            id="lag growing",
        ),
        pytest.param("GatherSyncFreshnessOverBound", ["> 900"], "5m", id="freshness"),
        pytest.param(
            "GatherSyncDeadLettersNotEmpty",
            ["increase(gather_sync_dlq_messages_total[15m])", "> 0"],
            None,
            id="dlq",
        ),
        pytest.param("GatherSyncSubscriptionDown", ["== 0"], "2m", id="subscription down"),
        pytest.param("GatherSyncConsumerStopped", ['status="STOP"'], "5m", id="STOP"),
        pytest.param("GatherSyncConsumerStalled", ['status="STALL"'], "5m", id="STALL"),
    ],
)
def test_given_an_alert_then_its_expression_and_duration_are_the_agreed_bounds(
    alert: str, expr_parts: list[str], for_: str | None
) -> None:
    rule = next(r for r in alert_rules() if r["alert"] == alert)

    assert all(part in rule["expr"] for part in expr_parts), rule["expr"]
    assert rule.get("for") == for_


def test_given_the_rule_unit_tests_then_every_alert_has_a_case_that_fires() -> None:
    """`make check-alerts` runs these cases with promtool (a Go build too long for CI)."""
    tested = {
        case["alertname"]
        for group in yaml.safe_load(ALERT_TESTS.read_text(encoding="utf-8"))["tests"]
        for case in group["alert_rule_test"]
        if case.get("exp_alerts")
    }

    assert tested == ALERT_NAMES
