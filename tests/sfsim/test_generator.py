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


class SimulatedTime:
    """A clock that moves when the generator sleeps, and by `per_change` for each change made."""

    def __init__(self, generator: Generator, per_change: float, seconds: float) -> None:
        self.now, self.per_change, self.seconds = 0.0, per_change, seconds
        self.stop = asyncio.Event()
        made_by = generator.burst

        def burst(changes: int) -> int:
            self.now += changes * self.per_change
            return made_by(changes)

        generator.burst = burst  # type: ignore[method-assign]

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.now >= self.seconds:
            self.stop.set()


def a_running_generator(rate: float, per_change: float, seconds: float) -> int:
    org = an_org()
    generator = Generator(org, seed=2)
    generator.seed_org(10)
    time = SimulatedTime(generator, per_change, seconds)
    return asyncio.run(generator.run(rate, time.stop, time.sleep, time.clock))


def test_given_a_rate_when_running_then_the_count_follows_the_rate() -> None:
    made = a_running_generator(rate=40, per_change=0.0, seconds=5)

    assert 180 <= made <= 200


def test_given_bursts_that_take_time_then_the_rate_asked_is_still_made() -> None:
    """1,000 changes a second at half a millisecond each: half of each second is spent making
    them. Sleeping a whole tick after each burst made 657 a second of 1,000 asked."""
    made = a_running_generator(rate=1000, per_change=0.0005, seconds=10)

    assert 9_500 <= made <= 10_100
