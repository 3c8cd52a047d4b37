"""The listener as operators run it, as processes: kill -9 mid-stream loses no change, SIGTERM
drains and checkpoints, and two replicas share ten tenants with each org subscribed once (on
each transport)."""

from __future__ import annotations

import re
import signal
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from connectors.kafka.settings import KafkaSettings
from connectors.salesforce.checkpoints import read_checkpoints
from schemas.contract import Topics, checkpoint_key
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import a_tenant, sfsim_environ
from tests.connectors.salesforce.harness import (
    ChangesReader,
    Traffic,
    apply_configs,
    change_keys,
    event_keys,
    listener_process,
    listener_settings,
    tenants_topic,
    unique,
    wait_until,
)


def polling(org: ThreadedSfsim) -> int:
    return int(org.admin("state")["cometd_polling"])


def subscriptions(org: ThreadedSfsim, transport: str) -> int:
    """Listeners subscribed to this org: CometD clients polling, or Pub/Sub streams over two
    (a stream per object, Account and Contact)."""
    if transport == "cometd":
        return polling(org)
    streams = int(org.admin("state")["pubsub_streams"])
    return (streams + 1) // 2  # one stream of a second listener counts too


def test_given_kill_9_mid_stream_when_restarted_then_no_change_is_lost(
    kafka_settings: KafkaSettings,
    reader: ChangesReader,
    tmp_path: Path,
) -> None:
    with ThreadedSfsim(tmp_path / "tls", accounts=30, poll_timeout_ms=2_000) as org:
        topic, tenant = tenants_topic(kafka_settings), unique("kill9")
        apply_configs(kafka_settings, topic, [a_tenant(org, tenant)])
        settings = listener_settings(topic, org)
        log = tmp_path / "listener.log"
        with listener_process(settings, kafka_settings, sfsim_environ(org), log) as first:
            assert wait_until(lambda: polling(org) == 1, timeout=60), log.read_text()
            start = org.call(lambda: org.state.log.last_replay_id)
            with Traffic(org):
                time.sleep(3)
                first.send_signal(signal.SIGKILL)
                first.wait()
                time.sleep(1)
                with listener_process(settings, kafka_settings, sfsim_environ(org), log):
                    time.sleep(3)
                    expected = event_keys(org, start, tenant)
                    done = reader.wait(tenant, lambda cs: expected <= change_keys(cs), timeout=90)

    got = change_keys(done)
    assert len(expected) > 100
    assert expected - got == set(), f"lost {len(expected - got)} of {len(expected)}; log: {log}"
    duplicates = len(done) - len(got)
    assert duplicates <= len(expected)  # what was in flight, at most


def test_given_sigterm_then_in_flight_changes_are_written_and_the_checkpoint_is_the_last(
    kafka_settings: KafkaSettings,
    reader: ChangesReader,
    tmp_path: Path,
) -> None:
    with ThreadedSfsim(tmp_path / "tls", accounts=10, poll_timeout_ms=2_000) as org:
        topic, tenant = tenants_topic(kafka_settings), unique("sigterm")
        apply_configs(kafka_settings, topic, [a_tenant(org, tenant)])
        log = tmp_path / "listener.log"
        with listener_process(
            listener_settings(topic, org), kafka_settings, sfsim_environ(org), log
        ) as process:
            assert wait_until(lambda: polling(org) == 1, timeout=60)
            with Traffic(org):
                time.sleep(2)
            time.sleep(3)  # the last events are delivered
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
            last_account = org.call(
                lambda: max(
                    (
                        e.replay_id
                        for e in org.state.log.after(0, "/data/AccountChangeEvent", 10**6)
                    ),
                    default=0,
                )
            )

    checkpoints = read_checkpoints(
        kafka_settings.consumer_config(unique("cp")), Topics.of(kafka_settings).sf_checkpoints
    )
    assert checkpoints[checkpoint_key(tenant, "/data/AccountChangeEvent")].replay_id == last_account
    assert "listener stopped" in log.read_text()
    assert "Traceback" not in log.read_text()  # the CometD session's end logs no cancellation


def subscribed_since(log: Path, line: int) -> set[str]:
    """Tenants the replica subscribed after a given line of its log."""
    held: set[str] = set()
    for text in log.read_text().splitlines()[line:]:
        if match := re.search(r'"tenant": "([^"]+)".*"event": "subscribed"', text):
            held.add(match.group(1))
    return held


def started_tenants(log: Path) -> set[str]:
    """Tenants a replica is holding, from its own log lines."""
    held: set[str] = set()
    for line in log.read_text().splitlines():
        if match := re.search(r'"tenant": "([^"]+)".*"event": "tenant started"', line):
            held.add(match.group(1))
    return held


@pytest.mark.parametrize("transport", ["cometd", "pubsub"])
def test_given_two_replicas_then_ten_orgs_are_each_subscribed_once_and_survive_a_death(
    kafka_settings: KafkaSettings,
    reader: ChangesReader,
    tmp_path: Path,
    transport: str,
) -> None:
    with ExitStack() as stack:
        orgs = [
            stack.enter_context(ThreadedSfsim(tmp_path / "tls", poll_timeout_ms=2_000))
            for _ in range(10)
        ]
        topic = tenants_topic(kafka_settings, partitions=4)
        names = [unique(f"shard{n}") for n in range(10)]
        apply_configs(
            kafka_settings,
            topic,
            [a_tenant(o, n, transport=transport) for o, n in zip(orgs, names, strict=True)],
        )
        settings = listener_settings(topic, orgs[0])
        logs = [tmp_path / "replica-1.log", tmp_path / "replica-2.log"]
        one = stack.enter_context(
            listener_process(settings, kafka_settings, sfsim_environ(orgs[0]), logs[0])
        )
        stack.enter_context(
            listener_process(settings, kafka_settings, sfsim_environ(orgs[0]), logs[1])
        )

        # both replicas joined the group (the second may join after the first took everything)
        assert wait_until(lambda: all(started_tenants(log) for log in logs), timeout=90)
        assert wait_until(lambda: [subscriptions(o, transport) for o in orgs] == [1] * 10, 90)
        time.sleep(4)  # hold steady: still one subscription per org
        assert [subscriptions(o, transport) for o in orgs] == [1] * 10
        shares = [started_tenants(log) for log in logs]
        assert len(set(names) & (shares[0] | shares[1])) == 10

        seen = len(logs[1].read_text().splitlines())
        one.send_signal(signal.SIGKILL)
        one.wait()
        during = [create_account(o, "During") for o in orgs]  # while half the orgs have no listener
        # the survivor takes the dead replica's tenants after the group's session timeout
        assert wait_until(lambda: subscribed_since(logs[1], seen) >= set(names), timeout=90)
        assert wait_until(lambda: [subscriptions(o, transport) for o in orgs] == [1] * 10, 60)
        after = [create_account(o, "After") for o in orgs]
        arrived = [arrives(reader, n, i) for n, i in zip(names * 2, during + after, strict=True)]

    assert arrived == [True] * 20


def create_account(org: ThreadedSfsim, name: str) -> str:
    return org.call(lambda: org.state.org.create("Account", {"Name": name}))


def arrives(reader: ChangesReader, tenant: str, record_id: str) -> bool:
    changes = reader.wait(tenant, lambda cs: record_id in {c.record_id for c in cs}, timeout=60)
    return record_id in {c.record_id for c in changes}
