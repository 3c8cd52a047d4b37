"""A change Kafka refuses on its own merit (larger than its topic takes) goes to the DLQ with
the reason; the stream goes on with the next ones instead of restarting on it forever."""

from __future__ import annotations

import asyncio
import os
import time

from connectors.kafka.settings import KafkaSettings
from schemas.contract import DeadLetter, Topics
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import a_tenant
from tests.connectors.salesforce.harness import ChangesReader, event_keys, unique
from tests.connectors.salesforce.streams import arrived, eventually, polling, running_stream
from tests.support.topics import limit_message_size

LIMIT = 4000  # bytes sf.changes takes here; a record with a 16 kB description is refused


async def stream_a_too_large_change(
    org: ThreadedSfsim, kafka: KafkaSettings, tenant: str
) -> tuple[str, int]:
    async with running_stream(org, kafka, a_tenant(org, tenant)) as running:
        assert await eventually(lambda: polling(org) == 1)
        limit_message_size(kafka, Topics.of(kafka).sf_changes, LIMIT)
        start = org.call(lambda: org.state.log.last_replay_id)
        noise = os.urandom(8000).hex()  # lz4 cannot squeeze it under the limit
        big = org.call(
            lambda: org.state.org.create("Account", {"Name": "Big", "Description": noise})
        )
        org.call(lambda: org.state.org.create("Account", {"Name": "Small after it"}))
        expected = {k for k in event_keys(org, start, tenant) if big not in k[0]}
        reader = ChangesReader(kafka)
        changes = await arrived(reader, tenant, expected, 60)
        reader.close()
        assert expected <= {(c.key, c.version.as_tuple()) for c in changes}
        return big, running.stream._failures


def test_given_a_change_larger_than_its_topic_takes_then_it_is_dead_lettered_and_the_rest_flow(
    kafka_settings: KafkaSettings, org: ThreadedSfsim
) -> None:
    kafka = kafka_settings.model_copy(update={"topic_prefix": f"{unique('refused')}."})
    tenant = unique("big")

    big, failures = asyncio.run(stream_a_too_large_change(org, kafka, tenant))

    assert failures == 0  # the stream was never restarted over it
    dlq = ChangesReader(kafka, Topics.dlq(Topics.of(kafka).sf_changes))
    deadline = time.monotonic() + 60  # a loaded machine's group join can outlast a few seconds
    while not any(big in k for k, _ in dlq.messages) and time.monotonic() < deadline:
        dlq.poll_for(1)
    [(key, value)] = [(k, v) for k, v in dlq.messages if big in k]
    letter = DeadLetter.decode(value)
    assert (key.split(":")[0], letter.stage) == (tenant, "listener.publish")
    assert "MSG_SIZE_TOO_LARGE" in letter.error
    dlq.close()
