"""The adapted aiosfstream-ng client: ends its session at the first failed long-poll (so the
stream subscribes again from its checkpoints; the library's own client fails there on Python
3.10+ for another reason), and takes its replay ids from our checkpoints."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiocometd_ng.constants import TransportState
from aiosfstream_ng.client import Client
from aiosfstream_ng.exceptions import TransportTimeoutError
from hypothesis import given
from hypothesis import strategies as st

from connectors.salesforce.auth import authenticator_for, http_session
from connectors.salesforce.streaming import (
    CheckpointReplay,
    StreamingAuthenticator,
    StreamingClient,
    json_loads,
)
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import a_tenant, sfsim_environ

CHANNEL = "/data/AccountChangeEvent"


def make(sfsim: ThreadedSfsim, cls: type[Any], **options: Any) -> Any:
    session = http_session(sfsim.credentials.ca)
    auth = authenticator_for(a_tenant(sfsim).salesforce, sfsim_environ(sfsim), session)
    client = cls(StreamingAuthenticator(auth), **({"connection_timeout": 5} | options))
    client.ssl = sfsim.ssl_context()
    return client


async def through_a_dropped_poll(sfsim: ThreadedSfsim, cls: type[Any]) -> str:
    """Wait through reconnects (a dropped poll, then quiet long-polls) before an event comes."""
    client = make(sfsim, cls)  # aiocometd binds the running loop when a client is made
    await client.open()
    await client.subscribe(CHANNEL)

    async def later() -> None:
        await asyncio.to_thread(sfsim.admin, "faults", {"drop_connects": 1})
        await asyncio.sleep(5)  # sfsim's polls last 2 s: several reconnect cycles pass
        await asyncio.to_thread(
            sfsim.call, lambda: sfsim.state.org.create("Account", {"Name": "After-drop"})
        )

    writer = asyncio.create_task(later())
    try:
        message = await asyncio.wait_for(client.receive(), 30)
        return str(message["data"]["payload"]["Name"])
    finally:
        await writer
        await client.close()


def test_given_a_dropped_long_poll_then_our_client_ends_the_session_at_once(
    sfsim: ThreadedSfsim,
) -> None:
    # A failed poll may have been answered (its events counted as delivered): the stream must
    # subscribe again from its checkpoints, not go on after them on the same client id.
    async def scenario() -> float:
        client = make(sfsim, StreamingClient, connection_timeout=600)
        await client.open()
        await client.subscribe(CHANNEL)
        await asyncio.to_thread(sfsim.admin, "faults", {"drop_connects": 1})
        started = asyncio.get_running_loop().time()
        try:
            with pytest.raises(TransportTimeoutError, match="Lost connection"):
                await asyncio.wait_for(client.receive(), 30)
            return asyncio.get_running_loop().time() - started
        finally:
            await client.close()

    assert asyncio.run(scenario()) < 10  # the next failed poll, not the 600 s timeout


def test_given_the_librarys_own_client_then_the_same_wait_fails(sfsim: ThreadedSfsim) -> None:
    # Its reconnect-timeout task dies on `wait_for(..., loop=)` with TypeError, and receive()
    # reports that as a lost connection although the server is fine.
    with pytest.raises(TransportTimeoutError, match="Lost connection"):
        asyncio.run(through_a_dropped_poll(sfsim, Client))


def test_given_a_checkpoint_then_the_subscription_replays_after_it(sfsim: ThreadedSfsim) -> None:
    first = sfsim.call(lambda: sfsim.state.log.last_replay_id)
    sfsim.call(lambda: [sfsim.state.org.create("Account", {"Name": n}) for n in ("One", "Two")])

    async def scenario() -> list[str]:
        client = make(sfsim, StreamingClient, replay=CheckpointReplay({CHANNEL: first}))
        await client.open()
        await client.subscribe(CHANNEL)
        try:
            return [
                str((await asyncio.wait_for(client.receive(), 20))["data"]["payload"]["Name"])
                for _ in range(2)
            ]
        finally:
            await client.close()

    assert asyncio.run(scenario()) == ["One", "Two"]


def test_given_an_authenticator_then_its_repr_shows_no_token(sfsim: ThreadedSfsim) -> None:
    session = http_session(sfsim.credentials.ca)
    auth = StreamingAuthenticator(
        authenticator_for(a_tenant(sfsim).salesforce, sfsim_environ(sfsim), session)
    )

    asyncio.run(auth.authenticate())

    assert auth.access_token and auth.access_token not in repr(auth)


def test_given_events_received_before_a_failed_poll_then_they_come_first_then_the_end(
    sfsim: ThreadedSfsim,
) -> None:
    # One watch per session puts its end marker behind what the transport had received.
    async def scenario() -> tuple[list[str], str]:
        client = make(sfsim, StreamingClient, connection_timeout=600)
        await client.open()
        await client.subscribe(CHANNEL)
        try:
            await wait_until(lambda: client._transport.state is TransportState.CONNECTED)
            # The first connect answers at once; the fault is for the next one, so it must be
            # held by sfsim (polling) before the fault is set, or the fault cuts it empty.
            await wait_until_polling(sfsim)
            await asyncio.to_thread(sfsim.admin, "faults", {"drop_connects": 1})
            names = ("Before-drop-1", "Before-drop-2")
            await asyncio.to_thread(
                sfsim.call, lambda: [sfsim.state.org.create("Account", {"Name": n}) for n in names]
            )
            await wait_until(lambda: client._transport.state is TransportState.CONNECTING)
            got = []
            for _ in range(client.pending_count):
                message = await asyncio.wait_for(client.receive(), 5)
                got.append(str(message["data"]["payload"]["Name"]))
            with pytest.raises(TransportTimeoutError) as ended:
                await asyncio.wait_for(client.receive(), 5)
            return got, str(ended.value)
        finally:
            await client.close()

    names, error = asyncio.run(scenario())
    assert (names, error) == (
        ["Before-drop-1", "Before-drop-2"],
        "Lost connection with the server.",
    )


async def wait_until_polling(sfsim: ThreadedSfsim, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await asyncio.to_thread(sfsim.admin, "state"))["cometd_polling"] < 1:
        assert asyncio.get_running_loop().time() < deadline, "no connect held in time"
        await asyncio.sleep(0.05)


async def wait_until(condition: Any, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_given_any_json_then_the_fast_reader_reads_what_the_standard_module_reads(
    value: Any,
) -> None:
    # Integers of any size included: orjson would turn one past 64 bits into a float.
    text = json.dumps(value)

    assert json_loads(text) == json.loads(text)
    assert repr(json_loads(text)) == repr(json.loads(text))  # 1 stays 1, not 1.0


@pytest.mark.parametrize(
    "text",
    [
        '{"n": NaN}',
        '{"n": -Infinity}',
        "[123456789012345678901234567890]",
        "[-9999999999999999999]",
    ],
)
def test_given_what_orjson_refuses_or_rounds_then_the_standard_module_reads_it(
    text: str,
) -> None:
    assert repr(json_loads(text)) == repr(json.loads(text))
