"""The listener's /livez and /readyz checks (connectors/telemetry/health.py): its loop over the
tenants topic, its consumer in the listeners' group, its producer delivering, and the state of
each tenant's subscription, listed in the `tenants` check's JSON:

    "tenants": {"ok": false, "reason": "not subscribed: globex", "tenants": {
        "acme": {"state": "subscribed", "restarts": 0},
        "globex": {"state": "connecting", "restarts": 2}}}

States: `subscribed` (its CometD session is live), `waiting_for_kafka` (it takes no events until
Kafka acknowledges its changes), `connecting` (subscribing, or waiting before a restart),
`stopped` (it ended on a decision, a config error say, and logged what to fix; a restart would
not help). The replica is ready when each tenant it holds is subscribed or stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import Gauge

from connectors.telemetry.health import GroupWatch, Health, Heartbeat, Verdict
from connectors.telemetry.metrics import KAFKA_UNACKNOWLEDGED, SUBSCRIPTION_UP

if TYPE_CHECKING:
    from connectors.salesforce.listener import Listener, Running

SUBSCRIBED, WAITING_FOR_KAFKA, CONNECTING, STOPPED = (
    "subscribed",
    "waiting_for_kafka",
    "connecting",
    "stopped",
)


@dataclass(frozen=True)
class TenantState:
    state: str
    restarts: int = 0


def state_of(subscribed: bool, waiting_for_kafka: bool, ended: bool, restarts: int) -> TenantState:
    if ended:
        return TenantState(STOPPED, restarts)
    if waiting_for_kafka:
        return TenantState(WAITING_FOR_KAFKA, restarts)
    return TenantState(SUBSCRIBED if subscribed else CONNECTING, restarts)


def subscriptions(states: Mapping[str, TenantState]) -> Verdict:
    """Ready when every tenant held is subscribed or stopped on a decision; the JSON lists each."""
    tenants = {t: {"state": s.state, "restarts": s.restarts} for t, s in sorted(states.items())}
    waiting = [t for t, s in sorted(states.items()) if s.state not in (SUBSCRIBED, STOPPED)]
    if waiting:
        return Verdict.failed(f"not subscribed: {', '.join(waiting)}", tenants=tenants)
    stopped = [t for t, s in sorted(states.items()) if s.state == STOPPED]
    reason = f"{len(states) - len(stopped)} subscribed"
    if stopped:
        reason += f"; stopped on a decision (see the log): {', '.join(stopped)}"
    return Verdict.passed(reason, tenants=tenants)


def states(tenants: Mapping[str, Running]) -> dict[str, TenantState]:
    """Each running tenant's state, from its task and the listener's gauges."""
    up, waiting = _gauge(SUBSCRIPTION_UP), _gauge(KAFKA_UNACKNOWLEDGED)
    return {
        tenant: state_of(
            up.get(tenant) == 1,
            waiting.get(tenant) == 1,
            running.task.done(),
            running.supervisor.restarts,
        )
        for tenant, running in dict(tenants).items()
    }


def _gauge(gauge: Gauge) -> dict[str, float]:
    """A per-tenant gauge's values by tenant."""
    return {
        sample.labels["tenant"]: sample.value
        for family in gauge.collect()
        for sample in family.samples
    }


def watch(health: Health, listener: Listener) -> tuple[Heartbeat, GroupWatch]:
    """Register the listener's checks; its loop beats the heartbeat and lets the group watch
    observe the consumer on each turn."""
    deliveries = health.deliveries("producer", lambda: len(listener.producer))
    listener.producer.on_report = lambda e: deliveries.report(None if e is None else e.str())
    health.ready("tenants", lambda: subscriptions(states(listener.tenants)))
    return health.heartbeat("loop"), health.group("consumer")
