"""The listener's readiness: each tenant's subscription state, by case, and a listener on sfsim
and the real broker that is not ready until its tenant is subscribed, then ready, then not ready
again, naming the tenant, once its org is gone."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from connectors.kafka.settings import KafkaSettings
from connectors.salesforce.readiness import (
    CONNECTING,
    STOPPED,
    SUBSCRIBED,
    WAITING_FOR_KAFKA,
    TenantState,
    state_of,
    subscriptions,
)
from connectors.telemetry.health import Health
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import a_tenant, sfsim_environ
from tests.connectors.salesforce.harness import (
    ListenerThread,
    apply_configs,
    listener_settings,
    tenants_topic,
    unique,
    wait_until,
)


@pytest.mark.parametrize(
    ("subscribed", "waiting", "ended", "expected"),
    [
        (True, False, False, SUBSCRIBED),
        (False, False, False, CONNECTING),  # subscribing, or waiting to restart
        (False, True, False, WAITING_FOR_KAFKA),  # held until Kafka acknowledges again
        (True, True, False, WAITING_FOR_KAFKA),  # the gauge of the wait says more than the other
        (False, False, True, STOPPED),  # ended on a decision (config error, fatal)
        (True, False, True, STOPPED),  # a task done is done, whatever a gauge last said
    ],
)
def test_tenant_state_by_case(subscribed: bool, waiting: bool, ended: bool, expected: str) -> None:
    assert state_of(subscribed, waiting, ended, restarts=2) == TenantState(expected, 2)


@pytest.mark.parametrize(
    ("states", "ok", "reason"),
    [
        ({}, True, "0 subscribed"),  # a replica holding no tenant does its job: nothing
        ({"acme": SUBSCRIBED, "globex": SUBSCRIBED}, True, "2 subscribed"),
        ({"acme": SUBSCRIBED, "globex": CONNECTING}, False, "not subscribed: globex"),
        ({"acme": WAITING_FOR_KAFKA, "globex": CONNECTING}, False, "not subscribed: acme, globex"),
        (
            {"acme": SUBSCRIBED, "globex": STOPPED},
            True,
            "1 subscribed; stopped on a decision (see the log): globex",
        ),
    ],
)
def test_subscriptions_by_case(states: dict[str, str], ok: bool, reason: str) -> None:
    verdict = subscriptions({t: TenantState(s, restarts=1) for t, s in states.items()})

    assert (verdict.ok, verdict.reason) == (ok, reason)
    assert verdict.detail["tenants"] == {t: {"state": s, "restarts": 1} for t, s in states.items()}


def held(health: Health) -> dict[str, object]:
    """The tenants the listener's readiness lists (none before its loop runs)."""
    tenants = health.readiness().checks.get("tenants")
    return dict(tenants.detail["tenants"]) if tenants is not None else {}


def test_given_a_listener_then_ready_once_its_tenant_is_subscribed_and_not_once_its_org_is_gone(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    # topics of its own: it reads no checkpoint another test left on the shared broker
    kafka = kafka_settings.model_copy(update={"topic_prefix": f"{unique('ready')}."})
    health = Health(stale_after=60)
    tenant = unique("acme")
    with ExitStack() as running_org:
        org = running_org.enter_context(ThreadedSfsim(tmp_path / "tls", poll_timeout_ms=2_000))
        topic = tenants_topic(kafka)
        thread = ListenerThread(listener_settings(topic, org), kafka, sfsim_environ(org))
        thread.listener.health = health
        with thread:
            apply_configs(kafka, topic, [a_tenant(org, tenant)])
            assert wait_until(lambda: tenant in held(health), 60, step=0.02)
            starting = health.readiness()
            assert wait_until(lambda: health.readiness().ok, 60), health.readiness().body()
            ready = health.readiness()
            running_org.close()  # the org goes away
            assert wait_until(lambda: not health.readiness().ok, 60)
            gone = health.readiness()

    assert starting.checks["tenants"].reason == f"not subscribed: {tenant}"  # connecting
    assert ready.checks["tenants"].detail["tenants"] == {
        tenant: {"state": SUBSCRIBED, "restarts": 0}
    }
    assert {n for n, v in ready.checks.items() if v.ok} == {
        "consumer",
        "loop",
        "producer",
        "tenants",
    }
    assert gone.checks["tenants"].reason == f"not subscribed: {tenant}"
    assert [n for n, v in gone.checks.items() if not v.ok] == ["tenants"]
