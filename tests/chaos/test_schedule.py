"""The chaos plan is the seed's: the same seed gives the same faults, times and malformed events;
the short profile has one fault of each kind, and each starts while the workload still runs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.chaos.schedule import KINDS, LONG, SHORT, plan


@given(st.integers(min_value=0, max_value=10**9))
def test_given_a_seed_when_planned_twice_then_the_plans_are_equal(seed: int) -> None:
    assert plan(seed, SHORT) == plan(seed, SHORT)
    assert plan(seed, LONG) == plan(seed, LONG)


@given(st.integers(min_value=0, max_value=10**9))
def test_given_the_short_profile_then_each_kind_once_within_the_workload(seed: int) -> None:
    chosen = plan(seed, SHORT)
    assert sorted(f.kind for f in chosen.faults) == sorted(KINDS)
    assert all(0 < f.start < SHORT.seconds for f in chosen.faults)
    assert [f.duration for f in chosen.faults if f.kind == "partition"] == [30.0]
    assert len(chosen.malformed_at) == SHORT.malformed


@given(st.integers(min_value=0, max_value=10**9))
def test_given_the_long_profile_then_every_kind_at_least_once(seed: int) -> None:
    chosen = plan(seed, LONG)
    assert set(KINDS) <= {f.kind for f in chosen.faults}
    assert len(chosen.faults) == len(KINDS) + LONG.extra_faults


def test_given_two_seeds_then_the_plans_differ() -> None:
    assert plan(1, SHORT).faults != plan(2, SHORT).faults
