"""One log line per kind of repeated event per window, with how many were held back: a broker
that is away makes clients report the same error thousands of times a second."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable


class Throttle:
    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._window, self._clock = window, clock
        self._seen: dict[Hashable, tuple[float, int]] = {}  # key -> (last passed, held back)

    def passes(self, key: Hashable) -> tuple[bool, int, float]:
        """(whether this one is logged, how many were held back since the last that was, the
        seconds since that one)."""
        now = self._clock()
        passed, held = self._seen.get(key, (float("-inf"), 0))
        if now - passed < self._window:
            self._seen[key] = (passed, held + 1)
            return False, held + 1, now - passed
        self._seen[key] = (now, 0)
        return True, held, now - passed
