"""Metadata for the worker's own topics, not for every topic of the cluster.

Faust creates each of its topics (tables' changelogs, `sf.deals`, `worker.control`) through its
producer's client and then forces a metadata update (faust/transport/drivers/aiokafka.py,
"Fixes #499"). That client tracks no topics yet, and aiokafka asks for all of the cluster's
when it tracks none (`AIOKafkaClient._md_synchronizer`): on the local broker, with 6,591 topics
left by test runs, the worker made 12 such requests at start-up, 3.1 s of CPU decoding them
(bench.pipeline, 20,000 changes; a shared cluster has as many). Each topic Faust creates is now
tracked by that client, so every update after the first asks for the worker's topics only.

A topic another worker has just created (two starting at once) can be missing from the broker's
answer for a moment, and aiokafka logs that at ERROR for a tracked topic ("Topic %s not found in
cluster metadata"; asking for all topics, it said nothing). For a topic this worker has just
asked to create, that line is lowered to INFO: the next update finds it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiokafka.client import AIOKafkaClient
from faust.transport.drivers.aiokafka import Transport

_original: Callable[..., Coroutine[Any, Any, None]] | None = None
NOT_FOUND = "Topic %s not found in cluster metadata"  # aiokafka/cluster.py


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
    await _original(transport, owner, client, topic, *args, **kwargs)
    await track(client, topic)


async def track(client: AIOKafkaClient, topic: str) -> None:
    """The client's metadata updates include this topic, and (as it now tracks one) only the
    topics it tracks."""
    await client.add_topic(topic)
