"""Faults of the whole org rather than of one call: an outage answers 503 to every login, REST
and CometD request, a slow org answers each late. The admin API stays up (a test drives the
fault through it).

Salesforce's own outages answer 503 (REST with `SERVER_UNAVAILABLE`, logins and the streaming
endpoint with an HTML maintenance page); a slow instance shows as requests that time out.
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from sfsim.server.state import state_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ADMIN = "/sfsim/admin/"
MAINTENANCE = "<html><body><h1>Service Unavailable</h1>Down for maintenance.</body></html>"


@web.middleware
async def degraded_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(ADMIN):
        return await handler(request)
    faults = state_of(request).faults
    if faults.slow_seconds > 0:
        # The request is read, then answered late, and handled even if the client gave up
        # meanwhile: a long-poll answered this late hands its events to a connection nobody
        # reads any more, the worst case a client must survive.
        await request.read()
        await asyncio.sleep(faults.slow_seconds)
    if faults.outage:
        return unavailable(request)
    return await handler(request)


def unavailable(request: web.Request) -> web.Response:
    if request.path.startswith("/services/data/"):
        return web.json_response(
            [{"message": "Server is unavailable, try again", "errorCode": "SERVER_UNAVAILABLE"}],
            status=503,
        )
    return web.Response(status=503, text=MAINTENANCE, content_type="text/html")
