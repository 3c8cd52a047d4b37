"""The Faust worker's /livez and /readyz checks (connectors/telemetry/health.py).

- `loop` (liveness): a task beats once a second on the worker's event loop; an agent or a call
  that blocks the loop stops it.
- `consumer`: partitions assigned, no rebalance under way, and the tables recovered (until
  then the worker processes nothing).
- `producer`: delivering (a Faust sensor sees each send start and end: nothing outstanding, or
  an acknowledgement came recently, and no failed send since the last one that went through).

Faust's objects are read only on the worker's event loop: the loop's task takes a snapshot each
turn and the checks, run on the HTTP server's thread, read the snapshot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust

from connectors.telemetry.health import Deliveries, Health, Verdict


@dataclass(frozen=True)
class Snapshot:
    """What the consumer side looked like on the last turn of the loop."""

    assigned: int  # partitions, changelogs included
    rebalancing: bool
    recovered: bool


def consumer_verdict(snapshot: Snapshot | None) -> Verdict:
    if snapshot is None:
        return Verdict.failed("starting: the worker's app is not running yet")
    if snapshot.rebalancing:
        return Verdict.failed("rebalancing", partitions=snapshot.assigned)
    if snapshot.assigned == 0:
        return Verdict.failed("no partitions assigned yet (joining its group)")
    if not snapshot.recovered:
        return Verdict.failed("recovering its tables", partitions=snapshot.assigned)
    return Verdict.passed(f"{snapshot.assigned} partitions assigned", partitions=snapshot.assigned)


class SendSensor(faust.Sensor):
    """Each send Faust makes, as delivery reports for `Deliveries`; `outstanding` counts the
    sends neither acknowledged nor failed."""

    def __init__(self, deliveries: Deliveries) -> None:
        super().__init__()
        self.deliveries = deliveries
        self._open: set[int] = set()
        self._next = 0

    def on_send_initiated(
        self, producer: Any, topic: str, message: Any, keysize: int, valsize: int
    ) -> Any:
        self._next += 1
        self._open.add(self._next)
        return self._next

    def on_send_completed(self, producer: Any, state: Any, metadata: Any) -> None:
        self._open.discard(state)
        self.deliveries.report(None)

    def on_send_error(self, producer: Any, exc: BaseException, state: Any) -> None:
        self._open.discard(state)
        self.deliveries.report(f"{type(exc).__name__}: {exc}"[:300])

    def outstanding(self) -> int:
        return len(self._open)


class WorkerHealth:
    """Install before the app starts (a sensor added later would miss the state of sends already
    under way): `install(app, health)`."""

    def __init__(self, app: Any, health: Health, sleep: Callable[[float], Awaitable[None]]) -> None:
        self.app, self.health, self._sleep = app, health, sleep
        self._snapshot: Snapshot | None = None
        deliveries = Deliveries(health.stale_after, health.now)
        self.sensor = SendSensor(deliveries)
        health.ready("consumer", lambda: consumer_verdict(self._snapshot))
        health.ready("producer", lambda: deliveries.verdict(self.sensor.outstanding()))

    async def watch(self) -> None:
        """The loop's heartbeat and the consumer's snapshot, once a second, on the event loop."""
        heartbeat = self.health.heartbeat("loop")
        while True:
            heartbeat.beat()
            try:
                self._snapshot = self._snap()
            except AttributeError:  # the app's consumer or tables not built yet
                self._snapshot = None
            await self._sleep(1.0)

    def _snap(self) -> Snapshot:
        recovery = self.app.tables.recovery
        return Snapshot(
            assigned=len(self.app.consumer.assignment()),
            rebalancing=bool(self.app.rebalancing),
            recovered=recovery.completed.is_set(),
        )


def install(
    app: Any, health: Health, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> WorkerHealth:
    """The worker's checks on `health`, its sensor on the app, its watch as an app task."""
    watcher = WorkerHealth(app, health, sleep)
    app.sensors.add(watcher.sensor)
    app.task(watcher.watch)
    return watcher
