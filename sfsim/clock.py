"""Time, injected: the real clock for `sfsim serve`, a settable one for tests (72-hour retention,
session expiry and date literals are all tested by moving it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """Starts at a fixed instant and moves only when told; `skew` shifts a real-time clock."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class OffsetClock:
    """Real time plus a settable offset: lets the admin API jump a live server 73 hours ahead."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self.offset = timedelta()

    def now(self) -> datetime:
        return self._base.now() + self.offset


def sf_datetime(value: datetime) -> str:
    """Salesforce's REST datetime text: `2026-11-28T12:00:00.000+0000`."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{value.microsecond // 1000:03d}+0000"
    )


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)
