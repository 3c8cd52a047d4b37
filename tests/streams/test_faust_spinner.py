"""The worker started at `-l warn` keeps its root logger at WARN (faust-streaming's spinner set
it to DEBUG, so every library debug call became a log record)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import faust.worker
import pytest
from faust.utils.terminal import Spinner

from streams import faust_spinner


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    logger = logging.getLogger(f"spinner-test-{id(object())}")
    logger.addHandler(logging.StreamHandler())
    logger.setLevel(logging.WARN)
    yield logger
    logger.handlers.clear()


def a_faust_worker() -> faust.worker.Worker:
    worker = faust.worker.Worker.__new__(faust.worker.Worker)  # no app, no loop: only the hook
    worker.spinner = Spinner()
    return worker


def test_given_the_fix_when_faust_sets_up_the_root_logger_at_warn_then_it_stays_at_warn(
    root: logging.Logger,
) -> None:
    faust_spinner.install()
    worker = a_faust_worker()

    worker.on_setup_root_logger(root, logging.WARN)

    assert root.level == logging.WARN
    assert not root.isEnabledFor(logging.DEBUG)
    assert len(root.handlers) == 1
    assert worker.spinner is None


def test_given_faust_unpatched_then_its_spinner_turns_debug_on(
    root: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the fix is for: if Faust no longer did this, the fix could go."""
    monkeypatch.setattr(
        faust.worker.Worker, "_setup_spinner_handler", faust_spinner.FAUST_SPINNER_SETUP
    )
    worker = a_faust_worker()

    worker.on_setup_root_logger(root, logging.WARN)

    assert root.isEnabledFor(logging.DEBUG)
