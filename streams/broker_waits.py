"""The Faust worker and a broker that is down: wait at start-up, and say so without a flood.

1. aiokafka's `AIOKafkaClient.bootstrap` tries each bootstrap server once and raises
   `KafkaConnectionError("Unable to bootstrap ...")`; Faust's producer start lets that end the
   worker (a broker restarting while the worker starts, or a worker scheduled before the broker).
   `bootstrap` is wrapped to wait with `connectors.retrying` for as long as the broker is
   unreachable, logging each retry and counting it.
2. While a running worker's broker is away, aiokafka logs "Unable to update metadata" and its
   relatives thousands of times a second (a 46 s outage wrote 187,000 lines, 39 MB). `Repeats`
   lets the first of each message through and then one per window, with how many it held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka.client import AIOKafkaClient

from connectors.kafka.failures import classify
from connectors.retrying import Patience, apatiently
from connectors.telemetry.throttle import Throttle

WINDOW = 30.0  # seconds: one line per aiokafka message this often while it repeats
_original: Callable[[AIOKafkaClient], Any] | None = None


class Repeats(logging.Filter):
    """Passes a log message the first time and then once per `window` seconds, with a count of
    the repeats it held back; messages are told apart by logger and format string."""

    def __init__(self, window: float = WINDOW, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self._throttle = Throttle(window, clock)

    def filter(self, record: logging.LogRecord) -> bool:
        logged, held, since = self._throttle.passes((record.name, str(record.msg)))
        if logged and held:
            record.msg = f"{record.msg} [{held} more like this in the last {since:.0f} s]"
        return logged


def install() -> None:
    """Wrap aiokafka's bootstrap and quiet its repeated lines (once per process)."""
    global _original
    if _original is not None:
        return
    _original = AIOKafkaClient.bootstrap
    AIOKafkaClient.bootstrap = _bootstrap
    repeats = Repeats()
    for name in list(logging.Logger.manager.loggerDict):
        if name == "aiokafka" or name.startswith("aiokafka."):
            logging.getLogger(name).addFilter(repeats)


async def _bootstrap(client: AIOKafkaClient) -> Any:
    assert _original is not None
    patience = Patience("worker", "kafka", classify)
    return await apatiently(lambda: _original(client), "bootstrap", patience)
