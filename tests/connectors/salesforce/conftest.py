"""Fixtures of the listener's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sfsim.testing import ThreadedSfsim


@pytest.fixture
def org(tmp_path: Path) -> Iterator[ThreadedSfsim]:
    """An empty org of the test's own (a test that needs records makes them, or overrides it)."""
    with ThreadedSfsim(tmp_path / "org", accounts=0, poll_timeout_ms=2_000) as server:
        yield server
