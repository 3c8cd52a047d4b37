"""The real aiosfstream-ng client against sfsim's CometD endpoint over HTTPS: subscribe,
receive, replay from a stored id across a restart, and recovery from an expired session,
a forgotten client and a dropped long-poll."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiosfstream_ng.exceptions import ServerError
from aiosfstream_ng.replay import ReplayMarker, ReplayOption

from sfsim.testing import ThreadedSfsim
from tests.sfsim.streaming import streaming_client

ACCOUNTS = "/data/AccountChangeEvent"
ALL = "/data/ChangeEvents"


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


async def receive(client: Any, count: int) -> list[dict[str, Any]]:
    return [await asyncio.wait_for(client.receive(), 20) for _ in range(count)]


def create_accounts(sfsim: ThreadedSfsim, *names: str) -> list[str]:
    return sfsim.call(lambda: [sfsim.state.org.create("Account", {"Name": n}) for n in names])


async def subscribed(sfsim: ThreadedSfsim, channel: str, **options: Any) -> tuple[Any, Any]:
    client, auth = streaming_client(sfsim, **options)
    await client.open()
    await client.subscribe(channel)
    return client, auth


def header(message: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = message["data"]["payload"]["ChangeEventHeader"]
    return found


def test_given_a_subscription_when_accounts_are_created_then_their_events_arrive_in_order(
    sfsim: ThreadedSfsim,
) -> None:
    async def scenario() -> list[dict[str, Any]]:
        client, _ = await subscribed(sfsim, ACCOUNTS)
        await asyncio.to_thread(create_accounts, sfsim, "Stark", "Wayne")
        try:
            return await receive(client, 2)
        finally:
            await client.close()

    first, second = run(scenario())

    assert first["channel"] == ACCOUNTS
    assert [m["data"]["payload"]["Name"] for m in (first, second)] == ["Stark", "Wayne"]
    assert header(first)["changeType"] == "CREATE"
    assert second["data"]["event"]["replayId"] > first["data"]["event"]["replayId"]


def test_given_the_all_changes_channel_then_contacts_and_accounts_both_arrive(
    sfsim: ThreadedSfsim,
) -> None:
    async def scenario() -> list[str]:
        client, _ = await subscribed(sfsim, ALL)
        await asyncio.to_thread(
            sfsim.call, lambda: sfsim.state.org.create("Contact", {"LastName": "Knuth"})
        )
        await asyncio.to_thread(create_accounts, sfsim, "Hooli")
        try:
            return [header(m)["entityName"] for m in await receive(client, 2)]
        finally:
            await client.close()

    assert run(scenario()) == ["Contact", "Account"]


def test_given_a_stored_replay_id_when_a_new_client_subscribes_then_it_gets_what_it_missed(
    sfsim: ThreadedSfsim,
) -> None:
    storage: dict[str, Any] = {}

    async def first_run() -> None:
        client, _ = await subscribed(sfsim, ACCOUNTS, replay=storage)
        await asyncio.to_thread(create_accounts, sfsim, "Before")
        await receive(client, 1)
        await client.close()

    async def second_run() -> list[str]:
        client, _ = await subscribed(sfsim, ACCOUNTS, replay=storage)
        try:
            return [m["data"]["payload"]["Name"] for m in await receive(client, 2)]
        finally:
            await client.close()

    run(first_run())
    create_accounts(sfsim, "Missed-1", "Missed-2")  # while no client listens

    assert run(second_run()) == ["Missed-1", "Missed-2"]


def test_given_replay_all_when_subscribing_then_every_retained_event_is_delivered(
    sfsim: ThreadedSfsim,
) -> None:
    retained = sfsim.call(lambda: len(sfsim.state.log.after(0, ACCOUNTS, 100_000)))

    async def scenario() -> int:
        client, _ = await subscribed(sfsim, ACCOUNTS, replay=ReplayOption.ALL_EVENTS)
        try:
            return len(await receive(client, retained))
        finally:
            await client.close()

    assert retained > 20 and run(scenario()) == retained


async def names_of(client: Any, count: int) -> list[str]:
    return [m["data"]["payload"]["Name"] for m in await receive(client, count)]


def recovers_after(sfsim: ThreadedSfsim, fault: Callable[[], Any]) -> tuple[list[str], int]:
    """Receive one event, apply the fault, create another account: the same client gets it."""

    async def scenario() -> tuple[list[str], int]:
        client, auth = await subscribed(sfsim, ACCOUNTS)
        await asyncio.to_thread(create_accounts, sfsim, "Before-fault")
        names = await names_of(client, 1)
        await asyncio.to_thread(fault)
        await asyncio.to_thread(create_accounts, sfsim, "After-fault")
        try:
            return names + await names_of(client, 1), auth.calls
        finally:
            await client.close()

    result: tuple[list[str], int] = run(scenario())
    return result


def test_given_a_forgotten_client_then_it_handshakes_again_and_resubscribes(
    sfsim: ThreadedSfsim,
) -> None:
    forgotten: list[int] = []
    names, _ = recovers_after(
        sfsim, lambda: forgotten.append(sfsim.admin("forget-clients")["forgotten"])
    )

    assert forgotten == [1]  # the server really lost the client, and yet:
    assert names == ["Before-fault", "After-fault"]


def test_given_a_dropped_long_poll_then_the_client_reconnects_and_loses_nothing(
    sfsim: ThreadedSfsim,
) -> None:
    names, logins = recovers_after(sfsim, lambda: sfsim.admin("faults", {"drop_connects": 1}))

    assert names == ["Before-fault", "After-fault"]
    assert logins == 1


def test_given_an_ended_session_then_the_client_stops_and_a_new_login_resumes_from_its_replay_id(
    sfsim: ThreadedSfsim,
) -> None:
    storage: dict[str, Any] = {}

    async def until_the_session_ends() -> str:
        client, _ = await subscribed(sfsim, ACCOUNTS, replay=storage)
        await asyncio.to_thread(create_accounts, sfsim, "Before-expiry")
        await names_of(client, 1)
        await asyncio.to_thread(sfsim.admin, "expire-sessions")
        await asyncio.to_thread(create_accounts, sfsim, "During-expiry")
        try:
            with pytest.raises(ServerError) as raised:
                await receive(client, 1)
            return str(raised.value.error_message)
        finally:
            await client.close()

    async def after_logging_in_again() -> list[str]:
        client, _ = await subscribed(sfsim, ACCOUNTS, replay=storage)
        try:
            return await names_of(client, 1)
        finally:
            await client.close()

    assert run(until_the_session_ends()) == "Authentication invalid"
    assert run(after_logging_in_again()) == ["During-expiry"]


def test_given_a_replay_id_past_retention_then_salesforces_exact_error_comes_back(
    sfsim: ThreadedSfsim,
) -> None:
    storage = {ACCOUNTS: ReplayMarker(date="0", replay_id=999_999_999)}

    async def subscribe_with_stale_id() -> None:
        client, _ = streaming_client(sfsim, replay=storage)
        await client.open()
        try:
            await client.subscribe(ACCOUNTS)
        finally:
            await client.close()

    with pytest.raises(ServerError) as raised:
        run(subscribe_with_stale_id())

    assert raised.value.error_message == (
        "The replayId {999999999} you provided was invalid. Please provide a valid ID, -2 to "
        "replay all events, or -1 to replay only new events."
    )


def test_given_a_stale_replay_id_and_a_fallback_then_the_client_replays_what_is_retained(
    sfsim: ThreadedSfsim,
) -> None:
    storage = {ACCOUNTS: ReplayMarker(date="0", replay_id=999_999_999)}

    async def scenario() -> str:
        client, _ = await subscribed(
            sfsim, ACCOUNTS, replay=storage, replay_fallback=ReplayOption.ALL_EVENTS
        )
        try:
            return str(header(await asyncio.wait_for(client.receive(), 20))["changeType"])
        finally:
            await client.close()

    assert run(scenario()) == "CREATE"


def test_given_paused_delivery_then_events_wait_and_arrive_after_resuming(
    sfsim: ThreadedSfsim,
) -> None:
    async def scenario() -> tuple[bool, list[str]]:
        client, _ = await subscribed(sfsim, ACCOUNTS)
        await asyncio.to_thread(sfsim.admin, "faults", {"paused": True})
        await asyncio.to_thread(create_accounts, sfsim, "Held")
        try:
            try:
                await asyncio.wait_for(client.receive(), 3)
                arrived_while_paused = True
            except TimeoutError:
                arrived_while_paused = False
            await asyncio.to_thread(sfsim.admin, "faults", {"paused": False})
            return arrived_while_paused, await names_of(client, 1)
        finally:
            await client.close()

    assert run(scenario()) == (False, ["Held"])


def test_given_the_daily_delivery_allocation_used_up_then_connect_fails_with_its_error(
    sfsim: ThreadedSfsim,
) -> None:
    async def scenario() -> str:
        client, _ = await subscribed(sfsim, ACCOUNTS)
        await asyncio.to_thread(sfsim.admin, "faults", {"event_allocation_exceeded": True})
        try:
            with pytest.raises(ServerError) as raised:
                await receive(client, 1)
            return str(raised.value.error_message)
        finally:
            await client.close()

    assert run(scenario()) == "Organization total events daily limit exceeded"
