"""A half-open connection (the peer gone, no FIN or RST: a NAT or load balancer that dropped the
flow) is noticed by the client's HTTP/2 keepalive pings, not left to hang until TCP gives up.

Toxiproxy sits between our client and sfsim's Pub/Sub port; its `timeout` toxic with timeout 0
drops every byte both ways and keeps the connection open, which is what a half-open connection
looks like from the client. Pings are made frequent here (1 s, 1 s timeout) so the test is short;
the listener's default is 30 s and 20 s, under a minute.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from connectors.salesforce.pubsub.client import PubSubClient
from sfsim.clock import SystemClock
from sfsim.testing import ThreadedSfsim
from tests.chaos.toxiproxy import Toxiproxy

PROXY = "pubsub"
HELD = 8.0  # seconds the client is given to notice, after the first event came through


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[ThreadedSfsim, Toxiproxy, int]]:
    proxy = Toxiproxy(tmp_path / "toxiproxy.log")
    try:
        with ThreadedSfsim(tmp_path / "tls", clock=SystemClock(), pubsub_keepalive_s=60) as org:
            pubsub_port = int(org.credentials.pubsub.rsplit(":", 1)[1])
            yield org, proxy, proxy.create(PROXY, pubsub_port)
    finally:
        proxy.close()


async def outcome_after_half_open(
    org: ThreadedSfsim, proxy: Toxiproxy, port: int, ping_s: float, ping_timeout_s: float
) -> tuple[str, float]:
    """Subscribe through the proxy, receive one event, cut the proxy half-open, and wait for the
    next event for HELD seconds: (how the wait ended, after how many seconds)."""
    c = org.credentials
    token = org.call(
        lambda: org.state.identity.client_credentials(c.client_id, c.client_secret).token
    )
    ca = Path(c.ca).read_bytes()
    client = PubSubClient(f"127.0.0.1:{port}", token, c.url, "00D", ca=ca, ping_s=ping_s)
    client.ping_timeout_s = ping_timeout_s
    async with client:
        events = client.events("/data/AccountChangeEvent", "LATEST").__aiter__()
        first = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(1.0)  # the stream is open before the change is made
        org.call(lambda: org.state.org.create("Account", {"Name": "Before the cut"}))
        await asyncio.wait_for(first, 20)
        proxy.add_toxic(PROXY, "half-open", "timeout", {"timeout": 0})
        start = time.monotonic()
        try:
            await asyncio.wait_for(events.__anext__(), HELD)
        except TimeoutError:
            return "still waiting", time.monotonic() - start
        except grpc.aio.AioRpcError as e:
            return e.code().name, time.monotonic() - start
        return "an event", time.monotonic() - start


def test_given_a_half_open_connection_when_the_client_pings_then_the_stream_fails_unavailable_within_seconds(
    proxied: tuple[ThreadedSfsim, Toxiproxy, int],
) -> None:
    org, proxy, port = proxied

    ended, after = asyncio.run(outcome_after_half_open(org, proxy, port, 1.0, 1.0))

    assert ended == "UNAVAILABLE"
    assert after < HELD


def test_given_a_half_open_connection_without_pings_then_the_client_is_still_waiting(
    proxied: tuple[ThreadedSfsim, Toxiproxy, int],
) -> None:
    """What the pings buy: without them nothing tells the client the peer is gone."""
    org, proxy, port = proxied

    ended, _after = asyncio.run(outcome_after_half_open(org, proxy, port, 3600.0, 3600.0))

    assert ended == "still waiting"
