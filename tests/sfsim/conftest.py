"""sfsim tests: a requests session that trusts the throwaway CA (the `sfsim` fixture is in
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sfsim.testing import ThreadedSfsim


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
