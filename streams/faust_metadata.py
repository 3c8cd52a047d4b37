"""Metadata for the worker's own topics, not for every topic of the cluster.

Faust creates each of its topics (tables' changelogs, `sf.deals`, `worker.control`) through its
producer's client and then forces a metadata update (faust/transport/drivers/aiokafka.py,
"Fixes #499"). That client tracks no topics yet, and aiokafka asks for all of the cluster's
when it tracks none (`AIOKafkaClient._md_synchronizer`): on the local broker, with 6,591 topics
left by test runs, the worker made 12 such requests at start-up, 3.1 s of CPU decoding them
(bench.pipeline, 20,000 changes; a shared cluster has as many). Each topic Faust creates is now
tracked by that client, so every update after the first asks for the worker's topics only.

A topic just created (by this worker, or by another starting at once) can be missing from the
broker's answer for a moment, and aiokafka logs that at ERROR for a tracked topic ("Topic %s not
found in cluster metadata"; asking for all topics, it said nothing). For a topic this worker has
just asked to create, that line is lowered to INFO.

Faust's creation returns before the topic is in the broker's metadata, and the group leader's
assignor leaves out a topic it does not see yet ("Ignoring missing topic",
faust/assignor/partition_assignor.py): a worker in CI was assigned no partition of its `schemas`
changelog and its tables never finished recovery, until the consumer's next metadata refresh
(5 minutes by default) would start another rebalance. So creation waits until the topic is seen
with its partitions, and the worker refreshes its consumer's metadata more often (streams.app).

A broker that goes away while a worker starts fails the creation with `NodeNotReadyError` and
Faust ends the worker (the short chaos run, seed 795111: a worker restarted during a broker
restart exited with 1). Creation is retried for as long as its failure is transient, as
`broker_waits` does for the bootstrap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import structlog
from aiokafka.client import AIOKafkaClient
from faust.transport.drivers.aiokafka import Transport

from connectors.kafka.failures import classify
from connectors.retrying import Patience, apatiently

log = structlog.get_logger(__name__)

_original: Callable[..., Coroutine[Any, Any, None]] | None = None
NOT_FOUND = "Topic %s not found in cluster metadata"  # aiokafka/cluster.py
# how long a created topic may take to appear in the broker's metadata: a KRaft broker applies
# the controller's record within milliseconds; 30 s covers a broker busy with a rebalance storm
VISIBLE_PAUSE = 0.1
VISIBLE_TRIES = 300


class JustCreated(logging.Filter):
    """Lowers aiokafka's "not found" line to INFO for the topics in `created`."""

    def __init__(self, created: set[str]) -> None:
        super().__init__()
        self.created = created

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.msg == NOT_FOUND and args and args[0] in self.created:
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


_created: set[str] = set()


def install() -> None:
    """Wrap Faust's topic creation (once per process)."""
    global _original
    if _original is None:
        _original = Transport._create_topic
        Transport._create_topic = _create_topic  # type: ignore[method-assign,assignment]
        logging.getLogger("aiokafka.cluster").addFilter(JustCreated(_created))


async def _create_topic(
    transport: Any, owner: Any, client: AIOKafkaClient, topic: str, *args: Any, **kwargs: Any
) -> None:
    assert _original is not None
    _created.add(topic)
    create = _original
    await created_patiently(lambda: create(transport, owner, client, topic, *args, **kwargs), topic)
    await track(client, topic)
    if not await visible(client, topic):
        # not fatal: the consumer's periodic metadata refresh finds it and rebalances
        log.warning("created topic not yet in the broker's metadata", topic=topic)


async def created_patiently(
    create: Callable[[], Awaitable[None]],
    topic: str,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> None:
    """`create()`, retried while the broker is away (Faust ignores a topic that exists, so a
    creation that reached the broker before failing is safe to send again)."""
    patience = Patience("worker", "kafka", classify, fields={"topic": topic})
    await apatiently(create, "create topic", patience, sleep=sleep)


async def track(client: AIOKafkaClient, topic: str) -> None:
    """The client's metadata updates include this topic, and (as it now tracks one) only the
    topics it tracks."""
    await client.add_topic(topic)


async def visible(
    client: AIOKafkaClient,
    topic: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    tries: int = VISIBLE_TRIES,
) -> bool:
    """True once the broker's metadata has `topic` with its partitions (the client tracks it);
    False after `tries` updates without it."""
    for _ in range(tries):
        if client.cluster.partitions_for_topic(topic):
            return True
        await sleep(VISIBLE_PAUSE)
        await client.force_metadata_update()
    return bool(client.cluster.partitions_for_topic(topic))
