"""Replay checkpoints in the compacted `sf.checkpoints` topic, keyed `tenant:channel`.

A checkpoint says: every change up to this replay id is in Kafka. It moves only over changes
whose produce the broker acknowledged, in replay order, so a restart resumes without loss;
what was in flight is received again (a bounded duplicate the downstream merge absorbs).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from connectors.kafka.compacted import read_compacted
from schemas.contract import checkpoint_key

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    replay_id: int
    commit_ts: int  # epoch ms of that event's commit: where a catch-up query starts
    # whose replay id it is: CometD's and the Pub/Sub API's are different spaces, so a tenant
    # switched to the other transport catches up by query from commit_ts instead
    transport: str = "cometd"

    def encode(self) -> bytes:
        data: dict[str, Any] = {"replay_id": self.replay_id, "commit_ts": self.commit_ts}
        if self.transport != "cometd":  # a CometD checkpoint reads as it always did
            data["transport"] = self.transport
        return json.dumps(data).encode()

    @classmethod
    def decode(cls, value: bytes) -> Checkpoint:
        data = json.loads(value)
        transport = str(data.get("transport", "cometd"))
        return cls(int(data["replay_id"]), int(data["commit_ts"]), transport)

    def replays_on(self, transport: str) -> bool:
        """Whether a session on `transport` may resume from this replay id: its own ids, and
        the presets (-1 new events, -2 all retained) that mean the same on both."""
        return self.replay_id < 0 or self.transport == transport


def read_checkpoints(
    consumer_config: dict[str, Any], topic: str, timeout: float = 30.0
) -> dict[str, Checkpoint]:
    """Every current checkpoint: the compacted topic (`sf.checkpoints`) from start to end."""
    latest = read_compacted(consumer_config, topic, timeout)
    found: dict[str, Checkpoint] = {}
    for key, value in latest.items():
        try:
            found[key] = Checkpoint.decode(value)
        except (ValueError, KeyError, TypeError) as e:
            # One foreign or damaged record must not stop every listener from starting; its
            # tenant's channel is treated as never checkpointed (a catch-up query when the
            # tenant streamed other channels).
            log.error(
                "checkpoint unreadable, skipped; delete it with a tombstone for its key",
                topic=topic,
                key=key,
                error=f"{type(e).__name__}: {e}",
            )
    return found


@dataclass
class _InFlight:
    replay_id: int
    commit_ts: int
    done: asyncio.Future[Any]
    sent_at: float  # monotonic seconds: how long Kafka has had it unacknowledged


class ChannelCheckpointer:
    """Tracks one channel's changes in replay order; the checkpoint advances over the longest
    acknowledged prefix, and is written at most every `interval` seconds (and on flush)."""

    def __init__(
        self,
        tenant: str,
        channel: str,
        write: Callable[[str, Checkpoint], object],
        now: Callable[[], float],
        interval: float = 1.0,
        transport: str = "cometd",
    ) -> None:
        self.key, self.transport = checkpoint_key(tenant, channel), transport
        self._write, self._now, self._interval = write, now, interval
        self._pending: deque[_InFlight] = deque()
        self.acknowledged: Checkpoint | None = None
        self._written: Checkpoint | None = None
        self._last_write = 0.0

    def track(self, replay_id: int, commit_ts: int, done: asyncio.Future[Any]) -> None:
        # A failure is read through `failed()`, or not at all once forgotten: either way it is
        # handled, and asyncio must not log it as "never retrieved".
        done.add_done_callback(_retrieved)
        self._pending.append(_InFlight(replay_id, commit_ts, done, self._now()))

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def waiting_for(self) -> float:
        """Seconds the oldest change not yet acknowledged has waited (0: none is waiting)."""
        for pending in self._pending:  # a plain loop: this runs once per event
            if not pending.done.done():
                return self._now() - pending.sent_at
        return 0.0

    def unsettled(self) -> list[asyncio.Future[Any]]:
        """The sends neither acknowledged nor failed yet."""
        return [p.done for p in self._pending if not p.done.done()]

    def forget_unacknowledged(self) -> int:
        """After a failed delivery or a wait for Kafka: the checkpoint moves over what was
        acknowledged, everything after it is dropped (the next session replays it from the
        checkpoint, so nothing is skipped); returns how many were dropped."""
        self.advance()
        dropped = len(self._pending)
        self._pending.clear()
        return dropped

    def advance(self, force: bool = False) -> None:
        """Move over acknowledged changes; a failed delivery stops the checkpoint there."""
        while self._pending and self._pending[0].done.done():
            head = self._pending[0]
            if head.done.cancelled() or head.done.exception() is not None:
                break
            self._pending.popleft()
            self.acknowledged = Checkpoint(head.replay_id, head.commit_ts, self.transport)
        due = force or self._now() - self._last_write >= self._interval
        if due and self.acknowledged is not None and self.acknowledged != self._written:
            self._write(self.key, self.acknowledged)
            self._written, self._last_write = self.acknowledged, self._now()

    def failed(self) -> BaseException | None:
        head = self._pending[0] if self._pending else None
        if head is not None and head.done.done() and not head.done.cancelled():
            return head.done.exception()
        return None


def _retrieved(done: asyncio.Future[Any]) -> None:
    if not done.cancelled():
        done.exception()
