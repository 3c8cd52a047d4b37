"""confluent-kafka's producer for asyncio code: each send is a future that resolves on the
broker's acknowledgement (or fails with the delivery error).

The delivery reports arrive in a polling thread; they are handed to the event loop, so callers
can `await` the acknowledgement before they store a replay id or commit an offset. A send never
blocks the event loop: when librdkafka's local queue is full (the broker is away or slower than
we produce) the send's future fails at once with a transient `_QUEUE_FULL`, as a delivery that
timed out would, and the caller holds its position and sends again later.
https://docs.confluent.io/platform/current/clients/confluent-kafka-python/html/index.html#producer
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from connectors.kafka.errors import KafkaLayerError


class DeliveryFailed(KafkaLayerError):
    """The broker did not take a message (after the client's own retries); `error` is what
    librdkafka reported (a `KafkaError`, or the `BufferError` of a full local queue), for
    `connectors.kafka.failures.classify`."""

    def __init__(self, error: KafkaError | BufferError) -> None:
        text = str(KafkaException(error)) if isinstance(error, KafkaError) else str(error)
        super().__init__(text or "local queue full")
        self.error = error


class AsyncProducer:
    def __init__(self, config: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        self._producer = Producer(config)
        self._loop = loop
        self._alone = asyncio.Lock()
        # told of each delivery report, on the polling thread (health: is it delivering?)
        self.on_report: Callable[[KafkaError | None], None] = lambda _error: None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="kafka-delivery", daemon=True)
        self._thread.start()

    def send(
        self,
        topic: str,
        key: str,
        value: bytes,
        headers: dict[str, str | bytes | None] | None = None,
    ) -> asyncio.Future[Message]:
        future: asyncio.Future[Message] = self._loop.create_future()

        def delivered(err: KafkaError | None, msg: Message) -> None:
            self.on_report(err)
            self._loop.call_soon_threadsafe(_settle, future, err, msg)

        for last in (False, True):
            try:
                self._producer.produce(
                    topic, key=key.encode(), value=value, headers=headers, on_delivery=delivered
                )
                return future
            except BufferError as e:
                if last:
                    future.set_exception(DeliveryFailed(e))
                    return future
                # Serve the delivery reports already in (non-blocking), which may free room.
                self._producer.poll(0)
        return future

    async def send_alone(self, topic: str, key: str, value: bytes) -> Message:
        """Send once more, one at a time, and wait for the acknowledgement. The broker refuses a
        batch too large for its topic whole (librdkafka does not split it), so a message
        refused beside a larger one is sent again on its own before it counts as refused."""
        async with self._alone:
            return await self.send(topic, key, value)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    def __len__(self) -> int:
        """Messages in the local queue: not yet acknowledged or refused."""
        return len(self._producer)

    async def flush(self, timeout: float = 30.0) -> int:
        """Wait for every outstanding message; returns how many are still undelivered."""
        remaining: int = await asyncio.to_thread(self._producer.flush, timeout)
        return remaining

    async def close(self, timeout: float = 30.0) -> int:
        """Flush, then drop what is still undelivered: its senders see it fail, and a checkpoint
        never moves over a message without its acknowledgement, so it is read again. Each queued
        message holds its delivery callback, which holds this producer: left queued, they kept
        the client alive, reconnecting to its broker for the rest of the process."""
        remaining = await self.flush(timeout)
        self._stop.set()
        await asyncio.to_thread(self._thread.join, 5)
        if remaining:
            self._producer.purge()
            self._producer.poll(0)  # the purge's delivery reports release their callbacks
        return remaining


def _settle(future: asyncio.Future[Message], err: KafkaError | None, msg: Message) -> None:
    if future.done():
        return
    if err is not None:
        future.set_exception(DeliveryFailed(err))
    else:
        future.set_result(msg)
