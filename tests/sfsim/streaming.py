"""What a streaming test needs to point the real aiosfstream-ng client at sfsim: an
authenticator that posts the password grant to sfsim's token URL (the library's own classes
post to login.salesforce.com), and the CA on the client's `ssl` attribute."""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp
from aiosfstream_ng.auth import AuthenticatorBase
from aiosfstream_ng.client import Client

from sfsim.testing import ThreadedSfsim


class SfsimPasswordAuthenticator(AuthenticatorBase):
    def __init__(self, sfsim: ThreadedSfsim) -> None:
        super().__init__()
        self._sfsim = sfsim
        self.calls = 0

    async def _authenticate(self) -> tuple[int, Any]:
        self.calls += 1
        c = self._sfsim.credentials
        form = {
            "grant_type": "password",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "username": c.username,
            "password": c.password,
        }
        connector = aiohttp.TCPConnector(ssl=self._sfsim.ssl_context())
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.post(f"{c.url}/services/oauth2/token", data=form) as response,
        ):
            return response.status, await response.json()


def streaming_client(
    sfsim: ThreadedSfsim, **options: Any
) -> tuple[Any, SfsimPasswordAuthenticator]:
    """A real aiosfstream-ng Client trusting sfsim's CA. connection_timeout=0 keeps it off
    aiocometd-ng's reconnect-timeout path, which still passes `loop=` to asyncio.wait_for
    (broken since Python 3.10); the listener (connectors/salesforce) fixes that path itself."""
    auth = SfsimPasswordAuthenticator(sfsim)
    client = Client(auth, connection_timeout=0, **options)
    context: ssl.SSLContext = sfsim.ssl_context()
    client.ssl = context
    return client, auth
