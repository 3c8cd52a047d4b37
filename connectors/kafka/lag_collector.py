"""Reading the cluster for the lag report: every group's committed offsets, the partitions' end
offsets, the timestamps of the messages at the committed offsets, and the recorded replays.
The lag and status model they feed is connectors/kafka/lag.py (pure, no Kafka client)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from connectors.kafka.errors import LagCollectionError
from connectors.kafka.lag import (
    FreshnessReader,
    LagMonitor,
    LagReport,
    PartitionKey,
    PartitionSample,
    freshness_section,
)
from connectors.kafka.replay import (
    NO_OFFSET,
    ReplayClient,
    ReplayRecord,
    describe_members,
    latest_spec,
)
from connectors.kafka.settings import KafkaSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LagFilter:
    groups: tuple[str, ...] = ()  # empty: every group
    topics: tuple[str, ...] = ()  # empty: every topic


class LagCollector:
    """Reads every group's committed offsets, the end offsets and the message timestamps."""

    def __init__(self, settings: KafkaSettings, timeout: float = 30.0, read_wait: float = 5.0):
        self.settings = settings
        self.timeout = timeout
        self.read_wait = read_wait  # how long to wait for the messages at committed offsets
        self.admin = AdminClient(settings.admin_config())
        self.replay_client = ReplayClient(settings, timeout)

    def collect(self, only: LagFilter = LagFilter()) -> list[PartitionSample]:
        try:
            groups = self._groups(only.groups)
            members = describe_members(self.admin, groups, self.timeout)
            committed = self._committed(groups, only.topics)
            ends = self._ends({(t, p) for _, t, p in committed})
            committed = {k: o for k, o in committed.items() if k[1:] in ends}
            lagging = {k: o for k, o in committed.items() if o < ends[k[1:]]}
            times = self._message_times(set(lagging.items()))
        except KafkaException as e:
            raise LagCollectionError(
                f"cannot read consumer groups from {self.settings.bootstrap_servers}: {e}; "
                f"check KAFKA_BOOTSTRAP_SERVERS and that the broker is up"
            ) from e
        return [
            PartitionSample(g, t, p, o, ends[(t, p)], times.get((t, p, o)), len(members[g]))
            for (g, t, p), o in sorted(committed.items())
        ]

    def replays(self) -> list[ReplayRecord]:
        return self.replay_client.read_replays()

    def _groups(self, only: Sequence[str]) -> list[str]:
        if only:
            return list(only)
        listing = self.admin.list_consumer_groups(request_timeout=self.timeout).result()
        return sorted(g.group_id for g in listing.valid)

    def _committed(self, groups: Sequence[str], topics: Sequence[str]) -> dict[PartitionKey, int]:
        committed: dict[PartitionKey, int] = {}
        for group in groups:  # librdkafka takes one group per request
            request = [ConsumerGroupTopicPartitions(group)]
            futures = self.admin.list_consumer_group_offsets(request, request_timeout=self.timeout)
            for tp in futures[group].result().topic_partitions:
                if tp.offset != NO_OFFSET and (not topics or tp.topic in topics):
                    committed[(group, tp.topic, tp.partition)] = tp.offset
        return committed

    def _ends(self, partitions: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The last stable offsets: what a read_committed consumer can reach."""
        if not partitions:
            return {}
        request = {TopicPartition(t, p): latest_spec() for t, p in partitions}
        futures = self.admin.list_offsets(
            request, isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=self.timeout
        )
        ends = {}
        for tp, future in futures.items():
            try:
                ends[(tp.topic, tp.partition)] = future.result().offset
            except KafkaException as e:  # a topic deleted since the group committed on it
                log.debug("no end offset", topic=tp.topic, partition=tp.partition, error=str(e))
        return ends

    def _message_times(
        self, wanted: set[tuple[PartitionKey, int]]
    ) -> dict[tuple[str, int, int], float]:
        """(topic, partition, offset) -> the timestamp of the first message at or after it."""
        positions = {(t, p, o) for (_, t, p), o in wanted}
        if not positions:
            return {}
        consumer = Consumer(
            self.settings.consumer_config(f"{self.settings.client_id}-lag-reader")
            | {"auto.offset.reset": "error"}
        )
        try:
            found: dict[tuple[str, int, int], float] = {}
            while positions:  # one round per distinct offset of a partition
                this_round = dict(((t, p), o) for t, p, o in sorted(positions))
                found |= _read_first_messages(consumer, this_round, self.read_wait)
                positions -= {(t, p, o) for (t, p), o in this_round.items()}
            return found
        finally:
            consumer.close()


def _read_first_messages(
    consumer: Consumer, positions: dict[tuple[str, int], int], wait: float
) -> dict[tuple[str, int, int], float]:
    assigned = [TopicPartition(t, p, o) for (t, p), o in positions.items()]
    consumer.assign(assigned)
    pending = dict(positions)
    found: dict[tuple[str, int, int], float] = {}
    deadline = time.monotonic() + wait
    while pending and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is None:
            continue
        key = (message.topic() or "", message.partition() or 0)
        if key not in pending:
            continue
        offset = pending.pop(key)
        consumer.pause([TopicPartition(*key)])  # one message a partition is all it takes
        kind, ms = message.timestamp()
        if message.error() is None and kind != 0 and ms >= 0:  # 0: TIMESTAMP_NOT_AVAILABLE
            found[(*key, offset)] = ms / 1000
    consumer.resume(assigned)  # a later round may assign the same partition again
    consumer.unassign()
    return found


def lag_report(
    collector: LagCollector,
    monitor: LagMonitor,
    now: float,
    only: LagFilter = LagFilter(),
    freshness: FreshnessReader | None = None,
) -> LagReport:
    """One refresh: read the cluster, advance the windows, evaluate, add the freshness."""
    samples = collector.collect(only)
    rows = monitor.observe(samples, collector.replays(), now)
    tenants, error = freshness_section(freshness, now)
    return LagReport(now, rows, tenants, error)
