"""No terminal spinner in the worker: it made every library's debug call a log record.

Started at `-l warn` (as `make run`, the tests and the benchmarks start it), faust-streaming's
worker draws a progress spinner on stdout and, to turn it on every log call, sets the root
logger to DEBUG with a handler at DEBUG (`faust/worker.py` `_setup_spinner_handler`). The level
stays after start-up, so each debug call in aiokafka and Faust (several per message sent) built
a `LogRecord` and passed it to every handler: 7.5% of the worker's CPU in a profile of 50,000
changes (docs/benchmarks.md). A service's log has no use for a spinner; without it the root
logger keeps the level asked for.
"""

from __future__ import annotations

import logging
from typing import Any

import faust.worker

# faust-streaming's own set-up, kept for the test that shows what this replaces
FAUST_SPINNER_SETUP = faust.worker.Worker.__dict__["_setup_spinner_handler"]


def _no_spinner(worker: Any, _logger: logging.Logger, _level: int) -> None:
    worker.spinner = None  # Faust then logs "Ready" at start-up instead of drawing " OK ^"


def install() -> None:
    """Replace the spinner's set-up in faust-streaming's worker (idempotent)."""
    faust.worker.Worker._setup_spinner_handler = _no_spinner  # type: ignore[method-assign,assignment]
