"""The data generator: the same seed makes the same org; traffic makes real changes."""

from __future__ import annotations

import asyncio

from sfsim.generator import Generator
from tests.sfsim.builders import an_org, events, header


def test_given_one_seed_when_two_orgs_are_generated_then_their_records_are_equal() -> None:
    first, second = an_org(), an_org()

    Generator(first, seed=3).seed_org(30)
    Generator(second, seed=3).seed_org(30)

    assert first.records == second.records
    assert len(first.records["Account"]) == 30


def test_given_a_seeded_org_then_opportunities_span_won_lost_and_open_stages() -> None:
    org = an_org()

    Generator(org, seed=5).seed_org(60)

    stages = {(r["IsClosed"], r["IsWon"]) for r in org.records["Opportunity"].values()}
    assert stages == {(False, False), (True, True), (True, False)}
    assert all(r["AccountId"] for r in org.records["Contact"].values())


def test_given_a_burst_then_each_change_publishes_events_of_several_kinds() -> None:
    org = an_org()
    generator = Generator(org, seed=11)
    generator.seed_org(20)
    before = len(events(org))

    made = generator.burst(300)

    kinds = {header(e)["changeType"] for e in events(org)[before:]}
    assert made > 250
    assert {"CREATE", "UPDATE", "DELETE"} <= kinds


def test_given_a_rate_when_running_with_a_fake_sleep_then_the_count_follows_the_rate() -> None:
    org = an_org()
    generator = Generator(org, seed=2)
    generator.seed_org(10)
    stop = asyncio.Event()
    ticks = 0

    async def fake_sleep(_: float) -> None:
        nonlocal ticks
        ticks += 1
        if ticks == 50:  # five simulated seconds
            stop.set()

    made = asyncio.run(generator.run(rate=40, stop=stop, sleep=fake_sleep))

    assert 180 <= made <= 200
