"""A tenant's stream rides through what Salesforce does to it, driven by sfsim's fault API, in
process against the real broker: an org down (503) or too slow to answer for many retries, an
expired session, REQUEST_LIMIT_EXCEEDED while events need REST, and a start in the middle of an
outage. Each ends with the stream resuming, and every change made during the fault in
`sf.changes` once per replay id. The stream's backoff is shortened (streams.QUICK): a fault of
minutes in production is a few seconds and as many retries here."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from connectors.kafka.settings import KafkaSettings
from schemas.changes import ChangeSource, SalesforceChange
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import a_tenant
from tests.connectors.salesforce.harness import ChangesReader, change_keys, event_keys, unique
from tests.connectors.salesforce.streams import (
    arrived,
    eventually,
    per_replay_id,
    polling,
    running_stream,
)


def create(org: ThreadedSfsim, count: int, name: str) -> list[str]:
    return org.call(
        lambda: [org.state.org.create("Account", {"Name": f"{name} {n}"}) for n in range(count)]
    )


async def through(
    org: ThreadedSfsim,
    kafka: KafkaSettings,
    reader: ChangesReader,
    fault: dict[str, Any],
    seconds: float,
    expire_sessions: bool = False,
) -> tuple[set[tuple[str, tuple[int, int, int]]], list[SalesforceChange], int]:
    """Stream, apply the fault for `seconds` while the org keeps changing, end it, change once
    more; returns the changes expected since the start, what arrived, and the interruptions."""
    tenant = unique("sffault")
    async with running_stream(org, kafka, a_tenant(org, tenant)) as running:
        assert await eventually(lambda: polling(org) == 1)
        start = org.call(lambda: org.state.log.last_replay_id)
        create(org, 3, "Before")
        await arrived(reader, tenant, event_keys(org, start, tenant), 30)
        org.admin("faults", fault)
        if expire_sessions:
            org.admin("expire-sessions")
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            create(org, 2, "During")
            await asyncio.sleep(0.5)
        org.admin("faults", {name: type(value)() for name, value in fault.items()})
        create(org, 2, "After")
        expected = event_keys(org, start, tenant)
        changes = await arrived(reader, tenant, expected, 60)
        return expected, changes, running.stream._failures


@pytest.mark.parametrize(
    ("fault", "seconds", "interrupted"),
    [
        # down for "minutes": every login, REST and CometD call answers 503 for as many
        # capped retries as such an outage takes
        ({"outage": True}, 6.0, 4),
        # slower than the client's poll timeout (2.4 s here) for one poll: the answer carries
        # events into a connection nobody reads (lost for good before streaming.py's change)
        ({"slow_seconds": 3.0}, 1.0, 1),
        # ... and for several polls in a row
        ({"slow_seconds": 3.0}, 6.0, 1),
    ],
    ids=["outage", "one-slow-poll", "slow-for-long"],
)
def test_given_an_org_down_or_slow_then_the_stream_resumes_and_every_change_arrives_once(
    kafka_settings: KafkaSettings,
    reader: ChangesReader,
    org: ThreadedSfsim,
    fault: dict[str, Any],
    seconds: float,
    interrupted: int,
) -> None:
    expected, changes, failures = asyncio.run(through(org, kafka_settings, reader, fault, seconds))

    assert len(expected) >= 7
    assert expected - change_keys(changes) == set()
    assert set(per_replay_id(changes).values()) == {1}
    assert failures >= interrupted  # the fault really interrupted the stream


def test_given_an_expired_session_mid_stream_then_it_logs_in_again_and_loses_nothing(
    kafka_settings: KafkaSettings, reader: ChangesReader, org: ThreadedSfsim
) -> None:
    expected, changes, _ = asyncio.run(
        through(org, kafka_settings, reader, {"paused": False}, 3.0, expire_sessions=True)
    )

    assert expected - change_keys(changes) == set()
    assert set(per_replay_id(changes).values()) == {1}
    assert org.admin("state")["sessions"] >= 1  # a new login after all were expired


def test_given_request_limit_exceeded_while_events_need_rest_then_they_are_resolved_after_it(
    kafka_settings: KafkaSettings, reader: ChangesReader, org: ThreadedSfsim
) -> None:
    # Gap events carry no values: each must be re-read over REST, which the spent quota refuses.
    tenant = unique("quota")

    async def scenario() -> tuple[list[str], list[SalesforceChange]]:
        async with running_stream(org, kafka_settings, a_tenant(org, tenant)):
            assert await eventually(lambda: polling(org) == 1)
            org.admin("faults", {"gap_events": True, "request_limit_exceeded": True})
            during = create(org, 4, "Gap")
            await asyncio.sleep(4)  # several quota backoffs (1 s here, 60 s in production)
            mid = await asyncio.to_thread(reader.wait, tenant, lambda _: False, 0.5)
            assert not mid, "a gap event was resolved without REST"
            org.admin("faults", {"request_limit_exceeded": False})

            def done(cs: list[SalesforceChange]) -> bool:
                return set(during) <= {c.record_id for c in cs}

            return during, await asyncio.to_thread(reader.wait, tenant, done, 60)

    during, changes = asyncio.run(scenario())

    refetched = {c.record_id for c in changes if c.source is ChangeSource.GAP_REFETCH}
    assert set(during) <= refetched


def test_given_a_start_during_an_outage_then_the_tenant_waits_instead_of_stopping(
    kafka_settings: KafkaSettings, reader: ChangesReader, org: ThreadedSfsim
) -> None:
    # Its first REST call (describe) needs a login, which the org answers with a 503 page: a
    # reason to retry, not a config error that would stop the tenant until someone re-applies it.
    tenant = unique("maint")

    async def scenario() -> tuple[bool, list[SalesforceChange], list[str]]:
        org.admin("faults", {"outage": True})
        during = create(org, 2, "Maintenance")
        async with running_stream(org, kafka_settings, a_tenant(org, tenant)) as streaming:
            await asyncio.sleep(3)
            running = not streaming.task.done()
            org.admin("faults", {"outage": False})
            assert await eventually(lambda: polling(org) == 1)
            after = create(org, 1, "Back")

            def done(cs: list[SalesforceChange]) -> bool:
                return set(after) <= {c.record_id for c in cs}

            return running, await asyncio.to_thread(reader.wait, tenant, done, 60), during

    running, changes, during = asyncio.run(scenario())

    assert running
    assert {c.fields.get("Name") for c in changes} == {"Back 0"}  # a new tenant: new events only
    assert during  # made while it waited; the backfill's to load, not the stream's
