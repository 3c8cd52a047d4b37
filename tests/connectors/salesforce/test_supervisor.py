"""A tenant stream that raises what it does not handle is restarted from its checkpoints, with
capped, jittered backoff, counted and logged; against sfsim and the real broker nothing is lost."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from connectors.kafka.settings import KafkaSettings
from connectors.salesforce.supervisor import RestartPolicy, Supervisor, next_attempt
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import a_tenant, sfsim_environ
from tests.connectors.salesforce.harness import (
    ChangesReader,
    ListenerThread,
    Traffic,
    apply_configs,
    change_keys,
    event_keys,
    listener_settings,
    tenants_topic,
    unique,
    wait_until,
)

POLICY = RestartPolicy(base_delay=1.0, max_delay=300.0, healthy_after=600.0)


@pytest.mark.parametrize(
    ("attempt", "jitter", "delay"),
    [
        (0, 0.0, 0.5),  # the first restart: half the base at the least jitter
        (0, 0.999, 0.9995),
        (3, 0.0, 4.0),  # 2**3 seconds, halved
        (3, 0.5, 6.0),
        (8, 0.0, 128.0),
        (9, 0.999, 299.85),  # 512 s capped at 300
        (10_000, 0.0, 150.0),  # long past the cap, and no overflow
    ],
)
def test_given_failures_in_a_row_then_the_delay_doubles_up_to_the_cap_scaled_by_jitter(
    attempt: int, jitter: float, delay: float
) -> None:
    assert POLICY.delay(attempt, jitter) == pytest.approx(delay)


@given(st.integers(0, 10_000), st.floats(0, 1, exclude_max=True))
def test_given_any_attempt_then_the_delay_lies_between_half_and_all_of_the_capped_backoff(
    attempt: int, jitter: float
) -> None:
    delay = POLICY.delay(attempt, jitter)
    ceiling = min(POLICY.max_delay, POLICY.base_delay * 2.0 ** min(attempt, 30))

    assert ceiling / 2 <= delay <= ceiling <= POLICY.max_delay
    assert POLICY.delay(attempt + 1, jitter) >= delay


@pytest.mark.parametrize(
    ("attempt", "ran_for", "expected"),
    [
        (0, 0.0, 0),
        (4, 12.0, 4),  # failing again soon: keeps climbing
        (4, 599.9, 4),
        (4, 600.0, 0),  # ran ten minutes: recovered, back to the base delay
    ],
)
def test_given_how_long_a_stream_ran_then_the_failure_count_goes_on_or_starts_over(
    attempt: int, ran_for: float, expected: int
) -> None:
    assert next_attempt(attempt, ran_for, POLICY) == expected


def metric(name: str, tenant: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"tenant": tenant})


class GaugeSampler:
    """`subscription_up` of one tenant as it changes, sampled every 10 ms in a thread."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.seen: list[float | None] = [None]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            value = metric("gather_sync_subscription_up", self.tenant)
            if value != self.seen[-1]:
                self.seen.append(value)
            time.sleep(0.01)

    def __enter__(self) -> GaugeSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def org(tmp_path: Path) -> Iterator[ThreadedSfsim]:
    with ThreadedSfsim(tmp_path / "org", accounts=20, poll_timeout_ms=2_000) as server:
        yield server


def test_given_a_stream_that_raises_mid_traffic_then_it_restarts_and_every_change_arrives(
    kafka_settings: KafkaSettings, org: ThreadedSfsim
) -> None:
    reader = ChangesReader(kafka_settings)
    topic, tenant = tenants_topic(kafka_settings), unique("restart")
    apply_configs(kafka_settings, topic, [a_tenant(org, tenant)])
    first_replay = org.call(lambda: org.state.log.last_replay_id)
    settings = listener_settings(topic, org, restart_base_delay=0.2)
    with (
        ListenerThread(settings, kafka_settings, sfsim_environ(org)),
        GaugeSampler(tenant) as up,
    ):
        assert wait_until(lambda: metric("gather_sync_subscription_up", tenant) == 1.0)
        with Traffic(org, changes=3, pause=0.05):
            time.sleep(1)
            # One describe in a shape the client never expects (fields without a type),
            # met when a change carries a new field: a KeyError the stream does not handle.
            org.admin("faults", {"malformed_describes": 1})
            org.admin("fields", {"object": "Account", "name": "Tier__c", "type": "string"})
            record = org.call(lambda: next(iter(org.state.org.records["Account"])))
            org.call(lambda: org.state.org.update("Account", record, {"Tier__c": "Gold"}))
            assert wait_until(lambda: metric("gather_sync_tenant_restarts_total", tenant) == 1)
            time.sleep(1)
        made = event_keys(org, first_replay, tenant)
        changes = reader.wait(tenant, lambda found: made <= change_keys(found))
    reader.close()

    assert made and made <= change_keys(changes)
    assert any(c.fields.get("Tier__c") == "Gold" for c in changes)
    assert metric("gather_sync_tenant_restarts_total", tenant) == 1.0
    assert org.admin("state")["faults"]["malformed_describes"] == 0
    assert up.seen[:4] == [None, 1.0, 0.0, 1.0]  # down during the restart's gap, then up


class _TurnsCancelIntoTimeout:
    """A stream that, cancelled mid-request, raises TimeoutError as aiohttp's timer does."""

    def __init__(self) -> None:
        self.config = a_tenant_config_stub()
        self.runs = 0

    async def run(self) -> None:
        self.runs += 1
        if self.runs > 1:
            return  # restarted: end, so a failing test ends too
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise TimeoutError from None


def a_tenant_config_stub() -> object:
    return type("Config", (), {"tenant": unique("cancelled")})()


def test_given_a_stream_that_turns_its_cancel_into_another_error_then_the_supervisor_stops() -> (
    None
):
    stream = _TurnsCancelIntoTimeout()

    async def stop_it() -> bool:
        supervisor = Supervisor(
            stream,  # type: ignore[arg-type]
            lambda failed: failed,
            POLICY,
            sleep=asyncio.sleep,
            random=lambda: 0.0,
            now=time.monotonic,
        )
        task = asyncio.create_task(supervisor.run())
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.wait([task], timeout=5)
        return task.cancelled()

    assert asyncio.run(stop_it())  # stopped, not restarted after a backoff
    assert stream.runs == 1
