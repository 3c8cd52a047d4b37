"""A running sfsim (HTTPS, in a thread) per test module, seeded with a small org."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sfsim.testing import ThreadedSfsim


@pytest.fixture(scope="module")
def sfsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedSfsim]:
    with ThreadedSfsim(
        tmp_path_factory.mktemp("sfsim"), accounts=20, poll_timeout_ms=2_000
    ) as server:
        yield server


@pytest.fixture
def http(sfsim: ThreadedSfsim) -> Iterator[requests.Session]:
    """A requests session that trusts sfsim's throwaway CA (and nothing else is changed)."""
    session = requests.Session()
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment override
    # session.verify; this machine sets them, so the environment is not consulted here.
    session.trust_env = False
    session.verify = sfsim.credentials.ca
    yield session
    session.close()


@pytest.fixture(autouse=True)
def _no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sfsim" in request.fixturenames:
        server: ThreadedSfsim = request.getfixturevalue("sfsim")
        server.admin(
            "faults",
            {
                "busy": 0,
                "request_limit_exceeded": False,
                "paused": False,
                "event_allocation_exceeded": False,
                "drop_connects": 0,
                "invalid_replay": False,
                "gap_events": False,
            },
        )


def tls_dir(server: ThreadedSfsim) -> Path:
    return Path(server.credentials.ca).parent
