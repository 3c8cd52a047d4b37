"""The lag collector on the real broker: committed and end offsets read across refreshes, fed to
the lag model, with the statuses that follow (a group falling behind stops, a group that went
back by itself is a bare rewind)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from connectors.kafka.lag import LagMonitor, Status
from connectors.kafka.lag_collector import LagCollector, LagFilter, lag_report
from connectors.kafka.settings import KafkaSettings
from tests.support.groups import a_group_with_offsets, a_topic, commit, now_ms, produce


@pytest.fixture
def kafka(kafka_settings: KafkaSettings) -> KafkaSettings:
    """The session's broker, under the name the helpers of tests/support/groups.py take."""
    return kafka_settings


@pytest.fixture
def topic(kafka: KafkaSettings) -> Iterator[str]:
    with a_topic(kafka, "lag-collector") as name:
        yield name


def test_given_a_group_falling_behind_when_refreshed_then_lag_and_status_change(
    kafka: KafkaSettings, topic: str
) -> None:
    group = a_group_with_offsets(kafka, topic, now_ms() - 60_000)
    commit(kafka, group, topic, 6, 4)
    collector, monitor = LagCollector(kafka), LagMonitor(window=3)
    only = LagFilter(groups=(group,))
    start = time.time()

    caught_up = lag_report(collector, monitor, start, only).partitions
    refreshes = []
    for i in range(1, 5):
        produce(kafka, topic, 0, 1, now_ms())  # the group's consumer is stopped
        refreshes.append(lag_report(collector, monitor, start + 10 * i, only).partitions[0])

    assert [(r.lag, r.status) for r in caught_up] == [(0, Status.OK), (0, Status.OK)]
    assert [r.lag for r in refreshes] == [1, 2, 3, 4]
    # Burrow waits while a recent end offset was one the group had reached, then says STOP
    assert [r.status for r in refreshes] == [Status.OK, Status.OK, Status.STOP, Status.STOP]


def test_given_a_rewind_without_a_replay_when_refreshed_then_it_is_a_bare_rewind(
    kafka: KafkaSettings, topic: str
) -> None:
    group = a_group_with_offsets(kafka, topic, now_ms() - 60_000)
    collector, monitor = LagCollector(kafka), LagMonitor()
    only = LagFilter(groups=(group,))
    lag_report(collector, monitor, time.time(), only)
    commit(kafka, group, topic, 1, 3)  # the group itself went back (auto.offset.reset, a bug)

    after = lag_report(collector, monitor, time.time(), only).partitions

    assert after[0].status_text == "REWIND"
