"""The org's retained change events, in replay-id order, and the waiting subscribers.

Events are kept 72 hours; a subscriber replays with -1 (new events only), -2 (everything
retained) or a stored replay id (events after it). An id older than the retention window is
refused by the CometD layer.
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_retention.htm
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sfsim.clock import Clock

RETENTION = timedelta(hours=72)
ALL_CHANGE_EVENTS = "/data/ChangeEvents"
NEW_EVENTS, ALL_RETAINED = -1, -2


@dataclass(frozen=True)
class StoredEvent:
    replay_id: int
    channel: str  # the object's own channel, e.g. /data/AccountChangeEvent
    created_at: datetime
    data: dict[str, Any]  # {"schema": ..., "payload": ...}; event.replayId is added on delivery

    def message(self, subscribed: str) -> dict[str, Any]:
        """The Bayeux message a subscriber of `subscribed` receives."""
        data = {**self.data, "event": {"replayId": self.replay_id}}
        return {"channel": subscribed, "data": data}


def matches(subscribed: str, channel: str) -> bool:
    return subscribed in (channel, ALL_CHANGE_EVENTS)


class EventLog:
    def __init__(self, clock: Clock, retention: timedelta = RETENTION) -> None:
        self._clock = clock
        self._retention = retention
        self._events: list[StoredEvent] = []
        self._next_id = 1
        self._changed = asyncio.Event()

    @property
    def last_replay_id(self) -> int:
        return self._next_id - 1

    def append(self, channel: str, data: dict[str, Any]) -> StoredEvent:
        event = StoredEvent(self._next_id, channel, self._clock.now(), data)
        self._next_id += 1
        self._events.append(event)
        self._wake()
        return event

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def prune(self) -> None:
        cutoff = self._clock.now() - self._retention
        expired = 0
        while expired < len(self._events) and self._events[expired].created_at < cutoff:
            expired += 1
        if expired:
            del self._events[:expired]

    def is_replayable(self, replay_id: int) -> bool:
        """-1, -2, or the id of an event still retained. An id older than 72 hours is refused
        even when nothing newer was published since: a subscriber quiet for three days must
        catch up another way."""
        self.prune()
        if replay_id in (NEW_EVENTS, ALL_RETAINED):
            return True
        return bool(self._events) and self._events[0].replay_id <= replay_id <= self.last_replay_id

    def start_position(self, replay_id: int) -> int:
        """The replay id after which a subscription with this replay option starts."""
        if replay_id == NEW_EVENTS:
            return self.last_replay_id
        if replay_id == ALL_RETAINED:
            self.prune()
            return (self._events[0].replay_id - 1) if self._events else self.last_replay_id
        return replay_id

    def after(self, position: int, subscribed: str, limit: int) -> list[StoredEvent]:
        self.prune()
        if not self._events:
            return []
        # Replay ids are contiguous, so the position is an index: no search.
        start = max(0, position + 1 - self._events[0].replay_id)
        found = []
        for event in itertools.islice(self._events, start, None):
            if matches(subscribed, event.channel):
                found.append(event)
                if len(found) >= limit:
                    break
        return found

    async def wait(self, timeout: float) -> None:
        """Until the next append, or the timeout."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)
