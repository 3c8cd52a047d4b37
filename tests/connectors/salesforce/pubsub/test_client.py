"""The same org's change events through both transports give the same changes.

sfsim makes a seeded workload (a seeded org, a burst of a sales team's edits, nulled and
compound fields, contacts, deletes, undeletes, a large text sent as a diff, gap events and an
overflow). Each event of its log is normalized twice: from its CometD form, and from what our
Pub/Sub client received over gRPC for it (Avro, bitmaps, epoch dates, decoded). The two must be equal, replay ids aside; the
CometD form is the oracle, built by separate code in sfsim.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.salesforce.normalizer import Gap, Normalized, normalize
from connectors.salesforce.pubsub.client import PubSubClient, Received
from sfsim.eventlog import ALL_CHANGE_EVENTS
from sfsim.testing import ThreadedSfsim

TENANT = "acme"


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedSfsim]:
    with ThreadedSfsim(tmp_path_factory.mktemp("both"), overflow_threshold=30) as server:
        server.call(lambda: server.generator.seed_org(12))
        server.call(lambda: server.generator.burst(300))
        server.call(lambda: _edge_cases(server))
        yield server


def _edge_cases(org: ThreadedSfsim) -> None:
    sf = org.state.org
    account = sf.create("Account", {"Name": "Edge", "Phone": "555-0100", "BillingCity": "Oslo"})
    sf.update("Account", account, {"Phone": None, "BillingCity": None, "BillingStreet": "1 Main"})
    contact = sf.create("Contact", {"LastName": "Edge", "FirstName": "Eda", "AccountId": account})
    sf.update("Contact", contact, {"FirstName": None, "Email": "eda@edge.test"})
    sf.delete("Contact", contact)
    sf.undelete("Contact", contact)
    long = "\n".join(f"line {i:03d} " + "x" * 60 for i in range(20))
    sf.update("Account", account, {"Description": long})
    sf.update("Account", account, {"Description": long.replace("line 007", "line 007, edited")})
    sf.force_gap = True
    sf.update("Account", account, {"Phone": "555-0199"})
    sf.force_gap = False
    with sf.transaction():  # past the overflow threshold: an overflow event
        for i in range(40):
            sf.create("Account", {"Name": f"Bulk {i}"})


def received(org: ThreadedSfsim) -> list[Received]:
    """Every retained event, from the earliest, through our client."""
    last = org.call(lambda: org.state.log.last_replay_id)
    c = org.credentials
    token = org.call(
        lambda: org.state.identity.client_credentials(c.client_id, c.client_secret).token
    )

    async def main() -> list[Received]:
        got: list[Received] = []
        client = PubSubClient(c.pubsub, token, c.url, "00D", ca=Path(c.ca).read_bytes(), batch=37)
        async with client:
            async for event in client.events(ALL_CHANGE_EVENTS, "EARLIEST"):
                got.append(event)
                if int.from_bytes(event.replay_id, "big") == last:
                    return got
        return got

    return asyncio.run(asyncio.wait_for(main(), 60))


def without_replay(normalized: Normalized) -> Any:
    if isinstance(normalized, list):
        return [c.model_dump(exclude={"replay_id"}) for c in normalized]
    return dataclasses.replace(normalized, replay_id=0)


def test_given_one_workload_when_read_over_both_transports_then_the_changes_are_equal(
    org: ThreadedSfsim,
) -> None:
    stored = org.call(lambda: org.state.log.after(0, ALL_CHANGE_EVENTS, 10**6))

    got = received(org)
    by_cometd = [without_replay(normalize(TENANT, e.message(ALL_CHANGE_EVENTS))) for e in stored]
    by_pubsub = [
        without_replay(
            normalize(TENANT, {"data": {"payload": r.payload, "event": {"replayId": 0}}})
        )
        for r in got
    ]

    assert [int.from_bytes(r.replay_id, "big") for r in got] == [e.replay_id for e in stored]
    assert by_pubsub == by_cometd
    kinds = {e.data["payload"]["ChangeEventHeader"]["changeType"] for e in stored}
    assert {"CREATE", "UPDATE", "DELETE", "UNDELETE", "GAP_UPDATE", "GAP_OVERFLOW"} <= kinds
    diffed = [n for n in by_cometd if isinstance(n, Gap) and n.reason == "diff"]
    assert len(diffed) == 1  # the Description edited in one line came as a diff
