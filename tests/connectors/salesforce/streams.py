"""One tenant's stream run in-process against sfsim and a real broker, with its retry waits
shortened so a fault of minutes plays out in seconds; and what a test asks of it meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.kafka.producer import AsyncProducer
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import provision_contract_topics
from connectors.salesforce.auth import authenticator_for, http_session
from connectors.salesforce.orgapi import OrgApi, RetryPolicy
from connectors.salesforce.tenant_stream import StreamDeps, TenantStream
from schemas.changes import SalesforceChange
from schemas.contract import Topics
from schemas.tenant import TenantConfig
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import sfsim_environ
from tests.connectors.salesforce.harness import ChangesReader

# Every wait of the stream and its REST client, shortened: what takes minutes in production
# (the org's quota window, a capped backoff) takes a second here.
QUICK = {
    "checkpoint_interval": 0.2,
    "connection_timeout": 5.0,
    "retry_base": 0.2,
    "retry_cap": 1.0,
    "quota_backoff": 1.0,
    "ack_timeout": 5.0,
}
QUICK_REST = RetryPolicy(attempts=3, base_delay=0.1, max_delay=0.5, quota_backoff=0.5)


def stream_deps(
    org: ThreadedSfsim,
    kafka: KafkaSettings,
    config: TenantConfig,
    producer: AsyncProducer,
    **overrides: Any,
) -> StreamDeps:
    session = http_session(org.credentials.ca)
    authenticator = authenticator_for(config.salesforce, sfsim_environ(org), session)
    orgapi = OrgApi(
        authenticator,
        session,
        config.salesforce.api_version,
        sleep=time.sleep,
        retry=QUICK_REST,
        tenant=config.tenant,
    )
    return StreamDeps(
        producer=producer,
        authenticator=authenticator,
        orgapi=orgapi,
        ssl_context=org.ssl_context(),
        checkpoints={},
        topics=Topics.of(kafka),
        now=time.monotonic,
        clock=lambda: datetime.now(UTC),
        **(QUICK | overrides),
    )


@dataclass
class Streaming:
    stream: TenantStream
    task: asyncio.Task[None]  # its `run`: done only when the tenant stopped itself (or failed)


@asynccontextmanager
async def running_stream(
    org: ThreadedSfsim,
    kafka: KafkaSettings,
    config: TenantConfig,
    producer_config: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[Streaming]:
    """The tenant's stream as a task of the running loop, cancelled (and drained) at the end."""
    await asyncio.to_thread(provision_contract_topics, kafka)
    producer = AsyncProducer(producer_config or kafka.producer_config(), asyncio.get_running_loop())
    stream = TenantStream(config, stream_deps(org, kafka, config, producer, **overrides))
    task = asyncio.create_task(stream.run())
    try:
        yield Streaming(stream, task)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await producer.close(timeout=5)


async def eventually(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Polls a blocking condition from the loop (in a thread) until it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(condition):
            return True
        await asyncio.sleep(0.2)
    return await asyncio.to_thread(condition)


def polling(org: ThreadedSfsim) -> int:
    return int(org.admin("state")["cometd_polling"])


async def arrived(
    reader: ChangesReader,
    tenant: str,
    expected: set[tuple[str, tuple[int, int, int]]],
    timeout: float = 60.0,
) -> list[SalesforceChange]:
    """What reached `sf.changes` for the tenant once `expected` is all there (or at timeout)."""

    def done(changes: list[SalesforceChange]) -> bool:
        return expected <= {(c.key, c.version.as_tuple()) for c in changes}

    return await asyncio.to_thread(reader.wait, tenant, done, timeout)


def per_replay_id(changes: list[SalesforceChange]) -> Counter[tuple[str, int | None]]:
    """How often each (record, replay id) of a streamed change reached `sf.changes`."""
    return Counter((c.key, c.replay_id) for c in changes if c.replay_id is not None)
