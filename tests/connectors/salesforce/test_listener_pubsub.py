"""The listener over the Pub/Sub API, against sfsim and the real broker: one org's changes read
by a tenant on CometD and a tenant on Pub/Sub give the same `sf.changes` field for field; a
dropped stream with expired sessions resumes from the checkpoint; a tenant switched from CometD
to Pub/Sub while changes were made loses none of them (the catch-up query bridges the two
replay-id spaces); a half-open connection is given up by the pings and the stream resumes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from connectors.kafka.settings import KafkaSettings
from connectors.salesforce.classifier import Decision
from schemas.changes import ChangeSource, SalesforceChange
from sfsim.clock import ManualClock
from sfsim.testing import ThreadedSfsim
from tests.chaos.toxiproxy import Toxiproxy
from tests.connectors.salesforce.builders import a_tenant, sfsim_environ
from tests.connectors.salesforce.harness import (
    ChangesReader,
    ListenerThread,
    apply_configs,
    listener_settings,
    tenants_topic,
    unique,
    wait_until,
)


def streams(org: ThreadedSfsim, cometd: int, pubsub: int) -> bool:
    def ready() -> bool:
        state = org.admin("state")
        return bool(state["cometd_polling"] >= cometd and state["pubsub_streams"] >= pubsub)

    return wait_until(ready, timeout=60)


def workload(org: ThreadedSfsim) -> list[str]:
    """Creates, updates with nulled and compound fields, a merged transaction, a contact, a
    delete and an undelete: what both transports must carry alike."""
    sf = org.state.org

    def make() -> list[str]:
        a = sf.create("Account", {"Name": "Both", "Phone": "555-0100", "BillingCity": "Oslo"})
        b = sf.create("Account", {"Name": "Other", "Industry": "Energy"})
        sf.update("Account", a, {"Phone": None, "BillingCity": "Bergen", "BillingStreet": "1 Main"})
        c = sf.create("Contact", {"LastName": "Lovelace", "FirstName": "Ada", "AccountId": a})
        sf.update("Contact", c, {"FirstName": None, "Email": "ada@both.test"})
        sf.delete("Account", b)
        sf.undelete("Account", b)
        return [a, b, c]

    ids = org.call(make)
    merged = [
        {"op": "update", "object": "Account", "id": i, "values": {"Rating": "Hot"}} for i in ids[:2]
    ]
    org.admin("transaction", {"writes": merged})
    return ids


def comparable(changes: list[SalesforceChange]) -> list[dict[str, Any]]:
    dumped = [c.model_dump(exclude={"tenant", "replay_id"}, mode="json") for c in changes]
    return sorted(
        dumped,
        key=lambda c: (c["version"]["commit_ts"], c["version"]["commit_number"], c["record_id"]),
    )


def test_given_one_org_when_read_by_a_cometd_and_a_pubsub_tenant_then_sf_changes_are_equal(
    kafka_settings: KafkaSettings, reader: ChangesReader, org: ThreadedSfsim
) -> None:
    topic, names = tenants_topic(kafka_settings), (unique("cometd"), unique("pubsub"))
    apply_configs(
        kafka_settings,
        topic,
        [a_tenant(org, names[0], transport="cometd"), a_tenant(org, names[1], transport="pubsub")],
    )
    with ListenerThread(listener_settings(topic, org), kafka_settings, sfsim_environ(org)):
        assert streams(org, cometd=1, pubsub=2)  # Account and Contact: a stream each
        workload(org)
        by_cometd = reader.wait(names[0], lambda c: len(c) >= 9)
        by_pubsub = reader.wait(names[1], lambda c: len(c) >= len(by_cometd))

    assert len(by_cometd) == 9  # 3 creates, 2 updates, a delete, an undelete, 2 merged
    assert comparable(by_pubsub) == comparable(by_cometd)


def test_given_a_dropped_stream_and_expired_sessions_when_changes_follow_then_they_arrive(
    kafka_settings: KafkaSettings, reader: ChangesReader, org: ThreadedSfsim
) -> None:
    topic, tenant = tenants_topic(kafka_settings), unique("dropped")
    apply_configs(kafka_settings, topic, [a_tenant(org, tenant, transport="pubsub")])
    with ListenerThread(listener_settings(topic, org), kafka_settings, sfsim_environ(org)):
        assert streams(org, cometd=0, pubsub=2)
        before = org.call(lambda: org.state.org.create("Account", {"Name": "Before drop"}))
        assert reader.wait(tenant, lambda c: len(c) >= 1)
        org.call(org.state.identity.expire_all)
        org.admin("faults", {"drop_connects": 1})
        after = org.call(lambda: org.state.org.create("Account", {"Name": "After drop"}))
        changes = reader.wait(tenant, lambda c: {before, after} <= {x.record_id for x in c})

    assert {before, after} <= {c.record_id for c in changes}


def test_given_a_tenant_switched_from_cometd_to_pubsub_when_changes_came_between_then_none_is_lost(
    kafka_settings: KafkaSettings, reader: ChangesReader, org: ThreadedSfsim
) -> None:
    topic, tenant = tenants_topic(kafka_settings), unique("switch")
    settings = listener_settings(topic, org)
    apply_configs(kafka_settings, topic, [a_tenant(org, tenant, transport="cometd")])
    with ListenerThread(settings, kafka_settings, sfsim_environ(org)):
        assert streams(org, cometd=1, pubsub=0)
        first = org.call(lambda: org.state.org.create("Account", {"Name": "On CometD"}))
        assert reader.wait(tenant, lambda c: first in {x.record_id for x in c})
    clock = org.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(seconds=1))
    between = org.call(lambda: org.state.org.create("Account", {"Name": "While switching"}))
    apply_configs(kafka_settings, topic, [a_tenant(org, tenant, transport="pubsub")])
    with ListenerThread(settings, kafka_settings, sfsim_environ(org)):
        assert streams(org, cometd=0, pubsub=2)
        after = org.call(lambda: org.state.org.create("Account", {"Name": "On Pub/Sub"}))
        changes = reader.wait(tenant, lambda c: {between, after} <= {x.record_id for x in c})

    assert {first, between, after} <= {c.record_id for c in changes}
    # sfsim's two replay-id spaces happen to coincide, so a CometD id would have resumed the
    # Pub/Sub stream here; Salesforce's do not: the change made between came by the query
    assert {c.source for c in changes if c.record_id == between} == {ChangeSource.RESYNC}


def test_given_an_outage_past_the_replay_window_on_pubsub_when_restarted_then_it_catches_up(
    kafka_settings: KafkaSettings, reader: ChangesReader, org: ThreadedSfsim
) -> None:
    # the stored replay id is refused as corrupted (INVALID_ARGUMENT), which the classifier
    # answers with a catch-up query from the checkpoint's commit time
    topic, tenant = tenants_topic(kafka_settings), unique("pubsub-outage")
    settings = listener_settings(topic, org)
    apply_configs(kafka_settings, topic, [a_tenant(org, tenant, transport="pubsub")])
    with ListenerThread(settings, kafka_settings, sfsim_environ(org)):
        assert streams(org, cometd=0, pubsub=2)
        before = org.call(lambda: org.state.org.create("Account", {"Name": "Before"}))
        assert reader.wait(tenant, lambda c: before in {x.record_id for x in c})
    org.admin("clock", {"advance_seconds": 73 * 3600})
    during = org.call(
        lambda: [org.state.org.create("Account", {"Name": f"During {n}"}) for n in range(3)]
    )
    org.admin("clock", {"advance_seconds": 60})
    with ListenerThread(settings, kafka_settings, sfsim_environ(org)):
        reader.wait(tenant, lambda c: set(during) <= {x.record_id for x in c})
        assert streams(org, cometd=0, pubsub=2)
        after = org.call(lambda: org.state.org.create("Account", {"Name": "After"}))
        changes = reader.wait(tenant, lambda c: after in {x.record_id for x in c})

    assert set(during) <= {c.record_id for c in changes if c.source is ChangeSource.RESYNC}
    assert after in {c.record_id for c in changes if c.source is ChangeSource.CDC}


def listener_retries() -> float:
    return sum(
        REGISTRY.get_sample_value("gather_sync_retries_total", {"stage": "listener", "reason": d})
        or 0.0
        for d in Decision
    )


def test_given_a_half_open_connection_when_pings_go_unanswered_then_the_stream_resumes_with_the_changes_made_meanwhile(
    kafka_settings: KafkaSettings, reader: ChangesReader, org: ThreadedSfsim, tmp_path: Path
) -> None:
    # Toxiproxy's `timeout` toxic with timeout 0 drops every byte and keeps the connection open
    topic, tenant = tenants_topic(kafka_settings), unique("half-open")
    proxy = Toxiproxy(tmp_path / "toxiproxy.log")
    try:
        port = proxy.create("pubsub", int(org.credentials.pubsub.rsplit(":", 1)[1]))
        apply_configs(
            kafka_settings,
            topic,
            [a_tenant(org, tenant, transport="pubsub", pubsub_endpoint=f"127.0.0.1:{port}")],
        )
        pings = {"pubsub_ping_interval": 1.0, "pubsub_ping_timeout": 1.0}
        with ListenerThread(
            listener_settings(topic, org, **pings), kafka_settings, sfsim_environ(org)
        ):
            assert streams(org, cometd=0, pubsub=2)
            before = org.call(lambda: org.state.org.create("Account", {"Name": "Before the cut"}))
            assert reader.wait(tenant, lambda c: before in {x.record_id for x in c})
            retried = listener_retries()
            proxy.add_toxic("pubsub", "half-open", "timeout", {"timeout": 0})
            during = org.call(lambda: org.state.org.create("Account", {"Name": "During the cut"}))
            noticed = wait_until(lambda: listener_retries() > retried, timeout=15)
            proxy.remove_toxic("pubsub", "half-open")
            changes = reader.wait(tenant, lambda c: during in {x.record_id for x in c})
    finally:
        proxy.close()

    assert noticed  # by the pings, while the connection was still half-open
    assert during in {c.record_id for c in changes}


def test_given_a_large_text_sent_as_a_diff_when_read_over_each_transport_then_the_whole_text_arrives(
    kafka_settings: KafkaSettings, reader: ChangesReader, org: ThreadedSfsim
) -> None:
    # the event holds only the diff (CometD `{"diff": ...}`, Pub/Sub `diffFields`): the record
    # is re-read over REST, since the listener has not the old text to apply it to
    topic, names = tenants_topic(kafka_settings), (unique("diff-cometd"), unique("diff-pubsub"))
    apply_configs(
        kafka_settings,
        topic,
        [a_tenant(org, names[0], transport="cometd"), a_tenant(org, names[1], transport="pubsub")],
    )
    long = "\n".join(f"line {i:03d} " + "x" * 60 for i in range(20))
    edited = long.replace("line 007", "line 007, edited")
    with ListenerThread(listener_settings(topic, org), kafka_settings, sfsim_environ(org)):
        assert streams(org, cometd=1, pubsub=2)
        sf = org.state.org
        account = org.call(lambda: sf.create("Account", {"Name": "Long", "Description": long}))
        org.call(lambda: sf.update("Account", account, {"Description": edited}))
        got = {
            n: reader.wait(n, lambda c: any(x.fields.get("Description") == edited for x in c))
            for n in names
        }

    for name in names:
        [whole] = [c for c in got[name] if c.fields.get("Description") == edited]
        assert whole.record_id == account and whole.source is ChangeSource.GAP_REFETCH
        assert not any("diff" in c.fields for c in got[name])
