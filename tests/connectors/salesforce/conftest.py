"""Fixtures of the listener's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.kafka.settings import KafkaSettings
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.harness import ChangesReader


@pytest.fixture
def org(tmp_path: Path) -> Iterator[ThreadedSfsim]:
    """An empty org of the test's own (a test that needs records makes them, or overrides it)."""
    with ThreadedSfsim(tmp_path / "org", accounts=0, poll_timeout_ms=2_000) as server:
        yield server


@pytest.fixture
def reader(kafka_settings: KafkaSettings) -> Iterator[ChangesReader]:
    """Everything in `sf.changes`, read from the start."""
    found = ChangesReader(kafka_settings)
    yield found
    found.close()
