"""The listener against sfsim orgs and the real broker: every change of every tenant reaches
`sf.changes`, keyed and fanned out; gaps and overflow (on each transport) and an outage beyond
the replay window are resolved; malformed events go to the DLQ; no secret reaches the logs."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.kafka.settings import KafkaSettings
from connectors.salesforce.checkpoints import read_checkpoints
from schemas.changes import ChangeSource, ChangeType, SalesforceChange
from schemas.contract import DeadLetter, Topics, checkpoint_key
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import a_tenant, sfsim_environ
from tests.connectors.salesforce.harness import (
    ChangesReader,
    ListenerThread,
    apply_configs,
    dlq_reader,
    listener_settings,
    tenants_topic,
    unique,
    wait_until,
)


def subscribed(org: ThreadedSfsim, clients: int = 1, transport: str = "cometd") -> bool:
    """The listener is streaming: a CometD client polling, or a Pub/Sub stream per object
    (Account and Contact)."""
    key, wanted = ("cometd_polling", clients) if transport == "cometd" else ("pubsub_streams", 2)
    return wait_until(lambda: org.admin("state")[key] >= wanted, timeout=60)


def count_of(n: int) -> Callable[[list[SalesforceChange]], bool]:
    return lambda changes: len(changes) >= n


def test_given_two_tenants_when_their_orgs_change_then_sf_changes_has_each_keyed_and_fanned_out(
    kafka_settings: KafkaSettings,
    reader: ChangesReader,
    tmp_path: Path,
) -> None:
    # one CA for both orgs (the listener trusts one CA file), as two orgs behind one proxy would
    with (
        ThreadedSfsim(tmp_path / "tls", poll_timeout_ms=2_000) as first,
        ThreadedSfsim(tmp_path / "tls", poll_timeout_ms=2_000) as second,
    ):
        topic = tenants_topic(kafka_settings)
        names = unique("acme"), unique("globex")
        apply_configs(
            kafka_settings, topic, [a_tenant(first, names[0]), a_tenant(second, names[1])]
        )
        environ = sfsim_environ(first)  # both orgs share sfsim's demo credentials
        with ListenerThread(listener_settings(topic, first), kafka_settings, environ):
            assert subscribed(first) and subscribed(second)
            ids = first.call(
                lambda: [first.state.org.create("Account", {"Name": f"A{n}"}) for n in range(3)]
            )
            first.admin(
                "transaction",
                {
                    "writes": [
                        {
                            "op": "update",
                            "object": "Account",
                            "id": i,
                            "values": {"Industry": "Retail"},
                        }
                        for i in ids
                    ]
                },
            )
            second.call(lambda: second.state.org.create("Contact", {"LastName": "Hopper"}))

            mine = reader.wait(names[0], count_of(6))
            theirs = reader.wait(names[1], count_of(1))

    merged = [c for c in mine if c.change_type is ChangeType.UPDATE]
    assert sorted(c.record_id for c in merged) == sorted(ids)
    assert len({c.version for c in merged}) == 1  # one event, fanned out to three records
    assert all(c.key == f"{names[0]}:Account:{c.record_id}" for c in mine)
    assert [(c.object, c.fields["LastName"]) for c in theirs] == [("Contact", "Hopper")]


@pytest.mark.parametrize("transport", ["cometd", "pubsub"])
def test_given_gap_events_then_the_records_are_re_read_and_published_as_snapshots(
    kafka_settings: KafkaSettings,
    reader: ChangesReader,
    org: ThreadedSfsim,
    transport: str,
) -> None:
    topic, tenant = tenants_topic(kafka_settings), unique("gaps")
    apply_configs(kafka_settings, topic, [a_tenant(org, tenant, transport=transport)])
    with ListenerThread(listener_settings(topic, org), kafka_settings, sfsim_environ(org)):
        assert subscribed(org, transport=transport)
        org.admin("faults", {"gap_events": True})
        kept = org.call(
            lambda: org.state.org.create("Account", {"Name": "Kept", "Industry": "Energy"})
        )
        gone = org.call(lambda: org.state.org.create("Account", {"Name": "Gone"}))
        org.call(lambda: org.state.org.delete("Account", gone))
        changes = reader.wait(tenant, count_of(3))

    by_record = {(c.record_id, c.change_type): c for c in changes}
    snapshot = by_record[(kept, ChangeType.SNAPSHOT)]
    assert snapshot.source is ChangeSource.GAP_REFETCH and snapshot.fields["Industry"] == "Energy"
    assert (gone, ChangeType.DELETE) in by_record  # re-read from the Recycle Bin


@pytest.mark.parametrize("transport", ["cometd", "pubsub"])
def test_given_an_overflowing_transaction_then_the_object_is_resynced(
    kafka_settings: KafkaSettings,
    reader: ChangesReader,
    tmp_path: Path,
    transport: str,
) -> None:
    with ThreadedSfsim(tmp_path / "o", poll_timeout_ms=2_000, overflow_threshold=2) as org:
        topic, tenant = tenants_topic(kafka_settings), unique("overflow")
        apply_configs(kafka_settings, topic, [a_tenant(org, tenant, transport=transport)])
        with ListenerThread(listener_settings(topic, org), kafka_settings, sfsim_environ(org)):
            assert subscribed(org, transport=transport)
            result = org.admin(
                "transaction",
                {
                    "writes": [
                        {"op": "create", "object": "Account", "values": {"Name": f"Bulk {n}"}}
                        for n in range(5)
                    ]
                },
            )
            changes = reader.wait(
                tenant, lambda cs: {c.record_id for c in cs} >= set(result["ids"])
            )

    resynced = {c.record_id for c in changes if c.source is ChangeSource.RESYNC}
    streamed = {c.record_id for c in changes if c.source is ChangeSource.CDC}
    assert len(streamed) == 2 and set(result["ids"]) - streamed <= resynced


def test_given_a_malformed_event_then_it_goes_to_the_dlq_with_its_reason_and_the_stream_goes_on(
    kafka_settings: KafkaSettings,
    reader: ChangesReader,
    org: ThreadedSfsim,
) -> None:
    topic, tenant = tenants_topic(kafka_settings), unique("dlq")
    apply_configs(kafka_settings, topic, [a_tenant(org, tenant)])
    dlq = dlq_reader(kafka_settings)
    with ListenerThread(listener_settings(topic, org), kafka_settings, sfsim_environ(org)):
        assert subscribed(org)
        org.admin(
            "publish-raw",
            {
                "channel": "/data/AccountChangeEvent",
                "data": {"schema": "x", "payload": {"Name": "no header"}},
            },
        )
        org.call(lambda: org.state.org.create("Account", {"Name": "After the bad one"}))
        changes = reader.wait(tenant, count_of(1))
        dlq.poll_for(3)
    dlq.close()

    assert [c.fields["Name"] for c in changes] == ["After the bad one"]
    letters = [DeadLetter.decode(v) for k, v in dlq.messages if k == tenant]
    assert letters and letters[0].stage == "listener.normalize"
    assert "has no 'ChangeEventHeader'" in letters[0].error
    assert "no header" in letters[0].original


def test_given_an_outage_past_the_replay_window_when_restarted_then_it_catches_up_by_query(
    kafka_settings: KafkaSettings,
    reader: ChangesReader,
    org: ThreadedSfsim,
) -> None:
    topic, tenant = tenants_topic(kafka_settings), unique("outage")
    apply_configs(kafka_settings, topic, [a_tenant(org, tenant)])
    settings = listener_settings(topic, org)
    with ListenerThread(settings, kafka_settings, sfsim_environ(org)):
        assert subscribed(org)
        org.call(lambda: org.state.org.create("Account", {"Name": "Before"}))
        reader.wait(tenant, count_of(1))
    checkpoint = read_checkpoints(
        kafka_settings.consumer_config(unique("cp")), Topics.of(kafka_settings).sf_checkpoints
    )[checkpoint_key(tenant, "/data/AccountChangeEvent")]

    org.admin("clock", {"advance_seconds": 73 * 3600})
    during = org.call(
        lambda: [org.state.org.create("Account", {"Name": f"During {n}"}) for n in range(3)]
    )
    org.admin("clock", {"advance_seconds": 60})
    with ListenerThread(settings, kafka_settings, sfsim_environ(org)):
        changes = reader.wait(tenant, lambda cs: {c.record_id for c in cs} >= set(during))
        assert subscribed(org)
        after = org.call(lambda: org.state.org.create("Account", {"Name": "After"}))
        changes = reader.wait(tenant, lambda cs: after in {c.record_id for c in cs})

    caught_up = {c.record_id for c in changes if c.source is ChangeSource.RESYNC}
    assert set(during) <= caught_up
    assert after in {c.record_id for c in changes if c.source is ChangeSource.CDC}
    assert checkpoint.replay_id >= 1


def test_given_a_full_run_then_no_secret_appears_in_the_logs(
    kafka_settings: KafkaSettings,
    reader: ChangesReader,
    org: ThreadedSfsim,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from connectors.telemetry.logs import configure_logging

    configure_logging("DEBUG")
    topic, tenant = tenants_topic(kafka_settings), unique("secrets")
    apply_configs(kafka_settings, topic, [a_tenant(org, tenant)])
    with ListenerThread(listener_settings(topic, org), kafka_settings, sfsim_environ(org)):
        assert subscribed(org)
        org.admin("expire-sessions")  # forces a re-login, with its log lines
        org.call(lambda: org.state.org.create("Account", {"Name": "Logged"}))
        changes = reader.wait(tenant, count_of(1), timeout=30)

    output = capsys.readouterr()
    logs = output.out + output.err
    secrets = [org.credentials.client_secret, org.credentials.password]
    tokens = org.call(lambda: list(org.state.identity.sessions))
    assert [c.fields["Name"] for c in changes] == ["Logged"]  # made while the session was gone
    assert "subscribed" in logs and "reauth" in logs and tenant in logs
    assert not [s for s in [*secrets, *tokens] if s in logs]


def test_given_an_object_added_to_the_config_then_it_is_streamed_and_its_records_loaded(
    kafka_settings: KafkaSettings,
    reader: ChangesReader,
    org: ThreadedSfsim,
) -> None:
    topic, tenant = tenants_topic(kafka_settings), unique("reconfig")
    accounts_only = a_tenant(org, tenant).model_copy(update={"contacts": None})
    apply_configs(kafka_settings, topic, [accounts_only])
    with ListenerThread(listener_settings(topic, org), kafka_settings, sfsim_environ(org)):
        assert subscribed(org)
        org.call(lambda: org.state.org.create("Contact", {"LastName": "Unseen"}))
        apply_configs(kafka_settings, topic, [a_tenant(org, tenant)])  # now with contacts
        assert wait_until(
            lambda: (
                org.admin("state")["cometd_clients"] == 1
                and org.admin("state")["cometd_polling"] == 1
            ),
            timeout=60,
        )
        time.sleep(2)
        org.call(lambda: org.state.org.create("Contact", {"LastName": "Seen"}))
        changes = reader.wait(
            tenant,
            lambda cs: {"Seen", "Unseen"} <= {c.fields.get("LastName") for c in cs},
        )

    contacts = {c.fields.get("LastName"): c.source for c in changes if c.object == "Contact"}
    existing = org.call(lambda: sum(1 for _ in org.state.org.rows("Contact")))
    assert (contacts["Unseen"], contacts["Seen"]) == (ChangeSource.RESYNC, ChangeSource.CDC)
    assert len({c.record_id for c in changes if c.object == "Contact"}) == existing
