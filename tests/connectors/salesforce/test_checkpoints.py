"""Checkpoints move only over acknowledged changes, in replay order."""

from __future__ import annotations

import asyncio

from connectors.salesforce.checkpoints import ChannelCheckpointer, Checkpoint


def test_given_out_of_order_acks_then_the_checkpoint_stops_at_the_first_unacked() -> None:
    async def scenario() -> list[Checkpoint]:
        loop = asyncio.get_running_loop()
        written: list[Checkpoint] = []
        cp = ChannelCheckpointer(
            "acme",
            "/data/AccountChangeEvent",
            lambda _k, c: written.append(c),
            now=lambda: 100.0,
            interval=0.0,
        )
        futures = [loop.create_future() for _ in range(3)]
        for n, future in enumerate(futures, start=1):
            cp.track(n, 1000 + n, future)
        futures[1].set_result(None)
        futures[2].set_result(None)
        cp.advance()
        futures[0].set_result(None)
        cp.advance()
        return written

    assert asyncio.run(scenario()) == [Checkpoint(3, 1003)]


def test_given_a_failed_delivery_then_the_checkpoint_never_passes_it() -> None:
    async def scenario() -> tuple[Checkpoint | None, bool]:
        loop = asyncio.get_running_loop()
        cp = ChannelCheckpointer("acme", "c", lambda _k, _c: None, now=lambda: 0.0, interval=0.0)
        ok, bad, later = (loop.create_future() for _ in range(3))
        for n, f in enumerate((ok, bad, later), start=1):
            cp.track(n, n, f)
        ok.set_result(None)
        bad.set_exception(RuntimeError("broker down"))
        later.set_result(None)
        cp.advance()
        return cp.acknowledged, cp.failed() is not None

    assert asyncio.run(scenario()) == (Checkpoint(1, 1), True)


def test_given_the_interval_not_elapsed_then_nothing_is_written_until_forced() -> None:
    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        writes: list[Checkpoint] = []
        clock = [0.0]
        cp = ChannelCheckpointer(
            "acme", "c", lambda _k, c: writes.append(c), now=lambda: clock[0], interval=5.0
        )
        for n in range(1, 4):
            done = loop.create_future()
            done.set_result(None)
            cp.track(n, n, done)
            cp.advance()
        cp.advance(force=True)
        return len(writes)

    assert asyncio.run(scenario()) == 1


def test_given_a_checkpoint_when_encoded_then_it_decodes_equal() -> None:
    assert Checkpoint.decode(Checkpoint(12, 1_700_000_000_000).encode()) == Checkpoint(
        12, 1_700_000_000_000
    )
