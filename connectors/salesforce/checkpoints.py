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

from connectors.kafka.compacted import read_compacted
from schemas.contract import checkpoint_key


@dataclass(frozen=True)
class Checkpoint:
    replay_id: int
    commit_ts: int  # epoch ms of that event's commit: where a catch-up query starts

    def encode(self) -> bytes:
        return json.dumps({"replay_id": self.replay_id, "commit_ts": self.commit_ts}).encode()

    @classmethod
    def decode(cls, value: bytes) -> Checkpoint:
        data = json.loads(value)
        return cls(int(data["replay_id"]), int(data["commit_ts"]))


def read_checkpoints(
    consumer_config: dict[str, Any], topic: str, timeout: float = 30.0
) -> dict[str, Checkpoint]:
    """Every current checkpoint: the compacted topic (`sf.checkpoints`) from start to end."""
    latest = read_compacted(consumer_config, topic, timeout)
    return {key: Checkpoint.decode(value) for key, value in latest.items()}


@dataclass
class _InFlight:
    replay_id: int
    commit_ts: int
    done: asyncio.Future[Any]


class ChannelCheckpointer:
    """Tracks one channel's changes in replay order; the checkpoint advances over the longest
    acknowledged prefix, and is written at most every `interval` seconds (and on flush)."""

    def __init__(
        self,
        tenant: str,
        channel: str,
        write: Callable[[str, Checkpoint], None],
        now: Callable[[], float],
        interval: float = 1.0,
    ) -> None:
        self.key = checkpoint_key(tenant, channel)
        self._write, self._now, self._interval = write, now, interval
        self._pending: deque[_InFlight] = deque()
        self.acknowledged: Checkpoint | None = None
        self._written: Checkpoint | None = None
        self._last_write = 0.0

    def track(self, replay_id: int, commit_ts: int, done: asyncio.Future[Any]) -> None:
        self._pending.append(_InFlight(replay_id, commit_ts, done))

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def advance(self, force: bool = False) -> None:
        """Move over acknowledged changes; a failed delivery stops the checkpoint there."""
        while self._pending and self._pending[0].done.done():
            head = self._pending[0]
            if head.done.cancelled() or head.done.exception() is not None:
                break
            self._pending.popleft()
            self.acknowledged = Checkpoint(head.replay_id, head.commit_ts)
        due = force or self._now() - self._last_write >= self._interval
        if due and self.acknowledged is not None and self.acknowledged != self._written:
            self._write(self.key, self.acknowledged)
            self._written, self._last_write = self.acknowledged, self._now()

    def failed(self) -> BaseException | None:
        head = self._pending[0] if self._pending else None
        if head is not None and head.done.done() and not head.done.cancelled():
            return head.done.exception()
        return None
