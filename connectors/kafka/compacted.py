"""Reading a compacted topic whole: the newest value of every key (configs, checkpoints, the
worker's table changelogs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition


def _everything(_key: str) -> bool:
    return True


def _quiet(_read: int, _total: int) -> None:
    return None


def read_compacted(
    consumer_config: dict[str, Any],
    topic: str,
    timeout: float = 30.0,
    keep: Callable[[str], bool] = _everything,
    progress: Callable[[int, int], None] = _quiet,
    pick: Callable[[int], int] | None = None,
) -> dict[str, bytes]:
    """The newest value of every key of a compacted topic that `keep` accepts (tombstones drop
    the key); `progress(read, total)` follows the offsets read up to the ends seen at start.
    `pick(count)`, when given, names the one partition to read of the topic's `count`."""
    consumer = Consumer(consumer_config | {"enable.auto.commit": False})
    try:
        ends = _ends(consumer, topic, timeout)
        if pick is not None and ends:
            only = pick(len(ends))
            ends = {only: ends[only]}
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        latest: dict[str, bytes] = {}
        open_ends, total = {p: e for p, e in ends.items() if e > 0}, sum(ends.values())
        position = dict.fromkeys(ends, 0)  # next offset per partition: compaction leaves gaps
        while open_ends:
            if (message := consumer.poll(timeout)) is None:
                _still_there(consumer, topic, open_ends, position, timeout)
                break  # the broker answers: what is missing before the ends was compacted away
            if message.error() is None:
                _keep_newest(latest, message, keep)
                partition = message.partition() or 0
                position[partition] = (message.offset() or 0) + 1
                if position[partition] >= open_ends.get(partition, 0):
                    open_ends.pop(partition, None)
                if not open_ends or position[partition] % 1000 == 0:
                    progress(sum(min(position[p], ends[p]) for p in ends), total)
        return latest
    finally:
        consumer.close()


def _still_there(
    consumer: Consumer,
    topic: str,
    open_ends: dict[int, int],
    position: dict[int, int],
    timeout: float,
) -> None:
    """Nothing came for `timeout` s short of the ends. When the broker answers, the offsets left
    hold nothing (compaction removed them). When it does not, the broker went away mid-read and
    a partial read would pass for the whole topic (older checkpoints, a config missing): raise
    a transient error, which callers retry."""
    try:
        for partition in open_ends:
            consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout)
    except KafkaException as e:
        short = {p: f"{position[p]}/{end}" for p, end in sorted(open_ends.items())}
        raise KafkaException(
            KafkaError(KafkaError._TIMED_OUT, f"read of {topic} stopped short of its end: {short}")
        ) from e


def _ends(consumer: Consumer, topic: str, timeout: float) -> dict[int, int]:
    partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
    return {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout)[1] for p in partitions
    }


def _keep_newest(latest: dict[str, bytes], message: Message, keep: Callable[[str], bool]) -> None:
    key, value = (message.key() or b"").decode(), message.value()
    if not keep(key):
        return
    if value is None:
        latest.pop(key, None)
    else:
        latest[key] = value
