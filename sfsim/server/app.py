"""Assembling sfsim: the org, its identity, the routes, and a running HTTPS server."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sfsim.auth import Identity
from sfsim.clock import Clock
from sfsim.eventlog import EventLog
from sfsim.generator import Generator
from sfsim.metadata import OrgSchema
from sfsim.org import Org
from sfsim.pubsub import server as pubsub
from sfsim.server import admin, bulk, cometd, degraded, oauth, rest
from sfsim.server.state import STATE, SimState
from sfsim.tls import TlsFiles, ensure_tls

USERNAME, PASSWORD, SECURITY_TOKEN = "admin@sfsim.example", "sfsim-password", "sfsimtoken"
CLIENT_ID, CLIENT_SECRET = "sfsim-client-id", "sfsim-client-secret"
LOGIN = r"/{domain:[^/]+\.salesforce\.com}"
DATA = "/services/data/v{version:[0-9]+\\.[0-9]}"


@dataclass(frozen=True)
class Credentials:
    """What a client needs to log in to this sfsim, for each flow; written to sfsim.json."""

    url: str
    login_domain: str  # simple-salesforce's `domain` argument
    ca: str
    username: str
    password: str
    security_token: str
    client_id: str
    client_secret: str
    refresh_token: str
    jwt_private_key: str  # path of the PEM the JWT bearer flow signs with
    pubsub: str = ""  # host:port of the Pub/Sub API (gRPC over the same TLS), when served

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def build_state(schema: OrgSchema, clock: Clock, overflow_threshold: int | None = None) -> SimState:
    log = EventLog(clock)
    org = (
        Org(schema, clock, log)
        if overflow_threshold is None
        else Org(schema, clock, log, overflow_threshold)
    )
    return SimState(org=org, identity=Identity(clock=clock), log=log, clock=clock)


def build_app(
    state: SimState, generator: Generator, poll_timeout_ms: int = cometd.POLL_TIMEOUT_MS
) -> web.Application:
    app = web.Application(
        middlewares=[degraded.degraded_middleware, rest.api_middleware],
        client_max_size=64 * 1024**2,
    )
    app[STATE] = state
    app[cometd.COMETD] = cometd.Cometd(poll_timeout_ms=poll_timeout_ms)
    app[admin.GENERATOR] = generator
    _login_routes(app)
    _data_routes(app)
    app.router.add_post("/cometd/{version}", cometd.endpoint)
    _admin_routes(app)
    return app


def _login_routes(app: web.Application) -> None:
    for prefix in ("", LOGIN):
        app.router.add_post(f"{prefix}/services/oauth2/token", oauth.token)
        app.router.add_post(f"{prefix}/services/Soap/u/{{version}}", oauth.soap_login)


def _data_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/services/data", rest.versions)
    r.add_get("/services/data/", rest.versions)
    r.add_get(f"{DATA}/", rest.resources)
    r.add_get(f"{DATA}/limits", rest.limits)
    r.add_get(f"{DATA}/limits/", rest.limits)
    r.add_get(f"{DATA}/sobjects", rest.sobjects)
    r.add_get(f"{DATA}/sobjects/", rest.sobjects)
    r.add_get(f"{DATA}/sobjects/{{object}}/describe", rest.describe)
    r.add_get(f"{DATA}/sobjects/{{object}}/describe/", rest.describe)
    r.add_post(f"{DATA}/sobjects/{{object}}", rest.create_record)
    r.add_post(f"{DATA}/sobjects/{{object}}/", rest.create_record)
    r.add_get(f"{DATA}/sobjects/{{object}}/{{id}}", rest.get_record)
    r.add_patch(f"{DATA}/sobjects/{{object}}/{{id}}", rest.update_record)
    r.add_delete(f"{DATA}/sobjects/{{object}}/{{id}}", rest.delete_record)
    r.add_get(f"{DATA}/query", rest.query)
    r.add_get(f"{DATA}/query/", rest.query)
    r.add_get(f"{DATA}/queryAll", rest.query_all)
    r.add_get(f"{DATA}/queryAll/", rest.query_all)
    r.add_get(f"{DATA}/query/{{locator}}", rest.query_more)
    r.add_get(f"{DATA}/queryAll/{{locator}}", rest.query_more)
    r.add_post(f"{DATA}/jobs/query", bulk.create_job)
    r.add_post(f"{DATA}/jobs/query/", bulk.create_job)
    r.add_get(f"{DATA}/jobs/query/{{job}}", bulk.get_job)
    r.add_patch(f"{DATA}/jobs/query/{{job}}", bulk.abort_job)
    r.add_delete(f"{DATA}/jobs/query/{{job}}", bulk.delete_job)
    r.add_get(f"{DATA}/jobs/query/{{job}}/results", bulk.results)


def _admin_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/sfsim/admin/state", admin.show)
    r.add_post("/sfsim/admin/state", admin.show)
    r.add_post("/sfsim/admin/faults", admin.faults)
    r.add_post("/sfsim/admin/expire-sessions", admin.expire_sessions)
    r.add_post("/sfsim/admin/forget-clients", admin.forget_clients)
    r.add_post("/sfsim/admin/clock", admin.clock)
    r.add_post("/sfsim/admin/limits", admin.limits)
    r.add_post("/sfsim/admin/undelete", admin.undelete)
    r.add_post("/sfsim/admin/transaction", admin.transaction)
    r.add_post("/sfsim/admin/generate", admin.generate)
    r.add_post("/sfsim/admin/publish-raw", admin.publish_raw)
    r.add_post("/sfsim/admin/fields", admin.add_field)


def provision_identity(state: SimState, tls_dir: Path) -> Credentials:
    """The demo org's admin user and connected app, with a JWT key pair written beside the TLS."""
    key_path, cert_pem = _jwt_keys(tls_dir)
    state.identity.add_user(USERNAME, PASSWORD, SECURITY_TOKEN)
    state.identity.add_app(CLIENT_ID, CLIENT_SECRET, USERNAME, cert_pem)
    refresh = state.identity.issue_refresh_token(CLIENT_ID, USERNAME)
    host = state.base_url.removeprefix("https://")
    return Credentials(
        state.base_url,
        f"{host}/login",
        str(tls_dir / "ca.pem"),
        USERNAME,
        PASSWORD,
        SECURITY_TOKEN,
        CLIENT_ID,
        CLIENT_SECRET,
        refresh,
        str(key_path),
    )


def _jwt_keys(tls_dir: Path) -> tuple[Path, str]:
    key_path = tls_dir / "jwt-private.pem"
    if key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key_path, public.decode()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    runner: web.AppRunner
    state: SimState
    credentials: Credentials
    tls: TlsFiles
    pubsub: grpc.aio.Server | None = None

    async def stop(self) -> None:
        if self.pubsub is not None:
            await self.pubsub.stop(grace=0.5)  # open Subscribe streams end with the server
        await self.runner.cleanup()


async def start(
    state: SimState,
    generator: Generator,
    tls_dir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    poll_timeout_ms: int = cometd.POLL_TIMEOUT_MS,
    pubsub_port: int = 0,  # 0: a free port; -1: no Pub/Sub API
    pubsub_keepalive_s: float = pubsub.KEEPALIVE_S,
) -> Running:
    tls = ensure_tls(tls_dir)
    port = port or free_port(host)
    state.base_url = f"https://{host}:{port}"
    state.identity.instance_url = state.base_url
    credentials = provision_identity(state, tls_dir)
    runner = web.AppRunner(
        build_app(state, generator, poll_timeout_ms), access_log=None, shutdown_timeout=2.0
    )
    await runner.setup()
    # Held long-polls end with the server: stopping does not wait out a 110 s poll.
    site = web.TCPSite(runner, host, port, ssl_context=tls.server_context())
    await site.start()
    pubsub_server = None
    if pubsub_port >= 0:
        pubsub_port = pubsub_port or free_port(host)
        pubsub_server = await pubsub.serve(state, tls, host, pubsub_port, pubsub_keepalive_s)
        credentials = replace(credentials, pubsub=f"{host}:{pubsub_port}")
    (tls_dir / "sfsim.json").write_text(
        json.dumps(credentials.as_dict(), indent=2), encoding="utf-8"
    )
    return Running(runner, state, credentials, tls, pubsub_server)
