"""Work-arounds in faust-streaming's consumer, so an offset moves only past events handled.

tests/streams/test_rebalance.py (two workers trading partitions while the same records keep
changing) lost changes without them; every part below was seen to matter there.

1. Records fetched before a rebalance, handed out after it. `Consumer.getmany`
   (faust/transport/consumer.py) reads the group generation after waiting for the fetch, so a
   batch fetched in the old generation can be handed out after the rebalance's seek to the
   committed offsets. Its offsets run ahead of the committed one: Faust records the distance as a
   "gap" (offsets it takes as done, meant for compacted topics and transaction markers) and
   raises its read offset past it, so the records the seek fetches again are dropped as read.
   Those changes were never handled, and their offsets were committed. For the worker's own
   topics the read offset is kept unknown (`_ReadOffsets`: no gap, no drop), and `InOrder` admits
   each partition's events in offset order from its committed offset: an early one seeks the
   partition back and is dropped unacknowledged, a repeated one is only acknowledged.
2. Acknowledgements no agent gave. `Stream.__aiter__` (faust/streams.py) acknowledges in a
   `finally` an event its agent was stopped in the middle of (a shutdown) and one it skipped
   unhandled at a rebalance (flow control suspended, or an older generation:
   faust-streaming/faust#221 and its fix #223, which skips such events but acknowledges them).
   After a revocation Faust has forgotten the committed offset, so nothing holds the next commit
   back. The agents over `sf.changes`, `sf.deals` and `worker.control` acknowledge with `handled`,
   once everything an event derived is in Kafka; `Consumer.ack` is wrapped so that, for these
   topics, no other acknowledgement counts (the event is fetched again after the rebalance).

The cost: a dictionary lookup per event. Duplicates stay possible (faust-streaming/faust#502:
events handled again after a rebalance), which the merge and the sink absorb.
"""

from __future__ import annotations

import time
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import structlog
from faust.streams import _current_event
from faust.transport.consumer import Consumer
from faust.types.tuples import ack_lock

log = structlog.get_logger(__name__)
_manual: set[str] = set()
_handled: weakref.WeakSet[Any] = weakref.WeakSet()  # messages an agent finished
_original: Callable[[Any, Any], bool] | None = None
_original_init: Callable[..., None] | None = None
# seconds a partition may go without an event admitted in order, while it has events after the
# next one expected, before it is sought back to that one (InOrder.unstall)
STALLED_AFTER = 10.0


def manual(topics: Iterable[str]) -> None:
    """Topics whose events count as done only when their agent says so."""
    _manual.update(topics)


def handled(event: Any) -> None:
    """Acknowledge an event its agent handled in full: its offset may now be committed."""
    _handled.add(event.message)
    event.ack()


def install() -> None:
    """Wrap `Consumer.ack` and the consumer's read offsets (once per process)."""
    global _original, _original_init
    if _original is None:
        _original, _original_init = Consumer.ack, Consumer.__init__
        Consumer.ack = _ack  # type: ignore[method-assign,assignment]
        Consumer.__init__ = _init  # type: ignore[method-assign,assignment]


def _init(consumer: Any, *args: Any, **kwargs: Any) -> None:
    assert _original_init is not None
    _original_init(consumer, *args, **kwargs)
    consumer._read_offset = _ReadOffsets(consumer._read_offset)


class _ReadOffsets(defaultdict[Any, Any]):
    """The consumer's read offsets, unknown for the manual topics: Faust drops a fetched record
    below its read offset as read already, and a batch fetched before a rebalance raises that
    offset past the records the rebalance's seek fetches again, which were then never handed to
    an agent. For these topics every record reaches the agent, and `InOrder` sorts them out."""

    def __init__(self, known: Any) -> None:
        super().__init__(lambda: None, known)

    def __getitem__(self, tp: Any) -> Any:
        return None if tp.topic in _manual else super().__getitem__(tp)


class Admit(Enum):
    HANDLE = "handle"  # the next offset of its partition
    AGAIN = "again"  # handled before in this generation (fetched twice): acknowledge only
    EARLY = "early"  # offsets before it are not handled yet: drop it, they are fetched again


@dataclass
class InOrder:
    """Each partition's events admitted in offset order from its committed offset, none skipped.

    An event whose offset runs ahead of the next one expected (a batch fetched before a
    rebalance and handed out after its seek) seeks the partition back to the expected offset
    and is dropped unacknowledged; it comes again in order. These topics are neither compacted
    nor transactional, so no offset is missing from them unless retention removed it before the
    group read it: that partition then keeps seeking back and says so in the log, rather than
    skip what it never read (reset the group's offsets to go on).

    A lost batch with no event after it (the tail of a partition that gets no more changes) is
    seen by no `admit`: `unstall` seeks such a partition back."""

    app: Any
    clock: Callable[[], float] = time.monotonic
    stalled_after: float = STALLED_AFTER
    _next: dict[Any, tuple[int, int]] = field(default_factory=dict)  # tp -> (generation, offset)
    _sought: dict[Any, tuple[int, int, int]] = field(default_factory=dict)  # tp -> (gen, to, at)
    # tp -> (generation, when): an event last admitted in order, or the partition first checked
    _progress: dict[Any, tuple[int, float]] = field(default_factory=dict)

    async def admit(self, event: Any) -> Admit:
        tp, offset = event.message.tp, event.message.offset
        generation = self.app.consumer_generation_id
        expected = self._expected(tp, generation, offset)
        if offset > expected:
            await self._seek_back(tp, generation, expected, offset)
            return Admit.EARLY
        self._progress[tp] = (generation, self.clock())
        if offset < expected:
            return Admit.AGAIN
        self._next[tp] = (generation, offset + 1)
        return Admit.HANDLE

    async def unstall(self, partitions: Iterable[Any]) -> None:
        """Seek back each partition whose events stopped coming short of its end.

        Faust can drop a batch it fetched before any agent sees it (see 1. above; the chaos run
        of seed 595463 lost 78 events of two partitions at once after a rebalance). `admit`
        notices only when a later event of the partition comes, so a lost tail, with no more
        changes after it, stayed unhandled and uncommitted, the consumer past it, for good. A
        partition with events at or after the next one expected (its highwater above it) and
        none admitted in order for `stalled_after` seconds is sought back to that one. At worst
        (an agent busy that long) its events come twice and the second time are only
        acknowledged."""
        generation, now = self.app.consumer_generation_id, self.clock()
        for tp in partitions:
            if tp.topic not in _manual:
                continue
            since = self._progress.get(tp)
            if since is None or since[0] != generation:  # newly assigned: from now on
                self._progress[tp] = since = (generation, now)
            expected, end = self._known(tp, generation), self._highwater(tp)
            if expected is None or end is None or end <= expected:
                continue
            if now - since[1] >= self.stalled_after:
                self._progress[tp] = (generation, now)  # the refetch has as long to come
                log.warning(
                    "partition stalled short of its end: seeking back",
                    tp=str(tp),
                    expected=expected,
                    end=end,
                    idle_s=round(now - since[1], 1),
                )
                await self.app.consumer.seek(tp, expected)

    def _known(self, tp: Any, generation: int) -> int | None:
        """The next offset expected, when this generation or a commit says it."""
        known = self._next.get(tp)
        if known is not None and known[0] == generation:
            return known[1]
        committed = self.app.consumer._committed_offset.get(tp)
        return int(committed) if committed is not None else None

    def _highwater(self, tp: Any) -> int | None:
        try:
            end = self.app.consumer.highwater(tp)
        except (AssertionError, KeyError):  # revoked since the assignment was read
            return None
        return int(end) if end is not None else None

    def _expected(self, tp: Any, generation: int, offset: int) -> int:
        known = self._known(tp, generation)
        # nothing committed yet: the group starts where the consumer's reset put it
        return known if known is not None else offset

    async def _seek_back(self, tp: Any, generation: int, expected: int, offset: int) -> None:
        """Seek back to the expected offset once per early batch; again only when the event that
        asked for it comes back first (the refetch raced with the rest of the batch)."""
        sought = self._sought.get(tp)
        if sought is not None and sought[:2] == (generation, expected) and sought[2] != offset:
            return  # more of the early batch; the seek is under way
        self._sought[tp] = (generation, expected, offset)
        log.info("seeking back", tp=str(tp), expected=expected, got=offset)
        await self.app.consumer.seek(tp, expected)


def _ack(consumer: Any, message: Any) -> bool:
    assert _original is not None
    if message.topic in _manual and message not in _handled:
        # Faust acknowledging on its own an event no agent handled: forget it, do not count it
        with ack_lock:
            message.acked = True
            consumer._unacked_messages.discard(message)
        return False
    return _original(consumer, message)


@contextmanager
def writing_for(event: Any) -> Iterator[None]:
    """Table writes made here go to the changelog partition of `event`. Faust finds it from the
    event its stream is iterating (a context variable); a batch from `take_events` is handled
    after that iteration, so the event is set again for the batch's writes."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
