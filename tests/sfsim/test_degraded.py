"""An org that is down or slow, through the admin faults API: an outage answers 503 to logins,
REST and CometD (and cuts a held long-poll without taking its events); a slow org answers late
enough for clients to time out. The admin API stays up through both."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sfsim.testing import ThreadedSfsim
from tests.sfsim.streaming import streaming_client

ACCOUNTS = "/data/AccountChangeEvent"


@pytest.fixture(autouse=True)
def _org_back_up(sfsim: ThreadedSfsim) -> Iterator[None]:
    yield
    sfsim.admin("faults", {"outage": False, "slow_seconds": 0})


def token(sfsim: ThreadedSfsim, http: requests.Session, timeout: float = 10) -> requests.Response:
    c = sfsim.credentials
    form = {
        "grant_type": "client_credentials",
        "client_id": c.client_id,
        "client_secret": c.client_secret,
    }
    return http.post(f"{c.url}/services/oauth2/token", data=form, timeout=timeout)


def query(sfsim: ThreadedSfsim, http: requests.Session, access: str) -> requests.Response:
    return http.get(
        f"{sfsim.url}/services/data/v61.0/query",
        params={"q": "SELECT Id FROM Account LIMIT 1"},
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )


def test_given_an_outage_then_logins_rest_and_cometd_answer_503_until_it_ends(
    sfsim: ThreadedSfsim, http: requests.Session
) -> None:
    access = token(sfsim, http).json()["access_token"]

    sfsim.admin("faults", {"outage": True})
    refused = (
        token(sfsim, http),
        query(sfsim, http, access),
        http.post(f"{sfsim.url}/cometd/61.0", json=[{"channel": "/meta/handshake"}], timeout=10),
    )
    shown = sfsim.admin("state")["faults"]["outage"]
    sfsim.admin("faults", {"outage": False})
    after = query(sfsim, http, access)

    assert [r.status_code for r in refused] == [503, 503, 503]
    assert refused[1].json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert "text/html" in refused[0].headers["Content-Type"]  # a maintenance page, not OAuth
    assert shown is True and after.status_code == 200


def test_given_an_outage_while_a_long_poll_is_held_then_it_is_cut_and_nothing_is_taken(
    sfsim: ThreadedSfsim,
) -> None:
    async def scenario() -> list[str]:
        client, _ = streaming_client(sfsim)
        await client.open()
        await client.subscribe(ACCOUNTS)
        await asyncio.sleep(0.5)  # a long-poll is held
        await asyncio.to_thread(sfsim.admin, "faults", {"outage": True})
        made = await asyncio.to_thread(
            sfsim.call, lambda: sfsim.state.org.create("Account", {"Name": "During"})
        )
        await asyncio.sleep(3)  # the held poll is cut, reconnects are refused meanwhile
        polling = (await asyncio.to_thread(sfsim.admin, "state"))["cometd_polling"]
        await asyncio.to_thread(sfsim.admin, "faults", {"outage": False})
        try:
            message = await asyncio.wait_for(client.receive(), 30)
        finally:
            await client.close()
        assert polling == 0 and made
        return [str(message["data"]["payload"]["Name"])]

    # the same client gets the event made during the outage once it is over: nothing was taken
    assert asyncio.run(asyncio.wait_for(scenario(), 60)) == ["During"]


def test_given_a_slow_org_then_a_client_with_a_shorter_timeout_gives_up_and_a_patient_one_waits(
    sfsim: ThreadedSfsim, http: requests.Session
) -> None:
    sfsim.admin("faults", {"slow_seconds": 1.5})
    with pytest.raises(requests.Timeout):
        token(sfsim, http, timeout=0.5)
    started = time.monotonic()
    answered = token(sfsim, http, timeout=10)
    took = time.monotonic() - started

    assert answered.status_code == 200 and took >= 1.5


@pytest.mark.parametrize("bad", [{"outage": "maybe"}, {"slow_seconds": "slow"}, {"down": True}])
def test_given_a_bad_fault_then_the_admin_api_refuses_it(
    sfsim: ThreadedSfsim, bad: dict[str, Any]
) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as refused:
        sfsim.admin("faults", bad)

    assert refused.value.code == 400
