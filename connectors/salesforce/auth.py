"""Authenticators: one contract, the four flows a Salesforce admin sets up for an integration.

Each flow posts to the org's token endpoint and returns a `Token`; a 401 or an ended session
later calls `authenticate()` again. Secrets arrive as `SecretStr` and leave only in the request
body; errors carry Salesforce's error code and description, never a credential.
https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flows.htm
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
import requests
from pydantic import SecretStr

from connectors.salesforce.errors import AuthenticationFailed
from connectors.salesforce.secrets import resolve
from schemas.tenant import (
    ClientCredentialsAuth,
    JwtBearerAuth,
    RefreshTokenAuth,
    SalesforceConnection,
    UsernamePasswordAuth,
)

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class Token:
    access_token: SecretStr
    instance_url: str
    org_id: str = ""  # from the identity URL (`.../id/<org id>/<user id>`): Pub/Sub's tenantid


class Authenticator(Protocol):
    def authenticate(self) -> Token: ...


class PinnedCASession(requests.Session):
    """A requests session whose `verify` wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.

    requests lets those variables override a session's own `verify`; an org reached through a
    private CA (sfsim, a proxy) must keep the CA it was given. Proxy variables still apply.
    """

    # Every request gets a timeout unless it names one: requests waits forever by default, and
    # an org that accepts a connection and never answers would hold a gap re-fetch or a backfill
    # page for good. (connect, read) seconds; a timeout is a network failure, retried.
    timeout: tuple[float, float] = (10.0, 120.0)

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        settings: dict[str, Any] = super().merge_environment_settings(
            url, proxies, stream, verify, cert
        )
        if verify is None and self.verify is not True:
            settings["verify"] = self.verify
        return settings


def http_session(ca_file: str | None) -> requests.Session:
    session = PinnedCASession()
    if ca_file:
        session.verify = ca_file
    return session


@dataclass
class OAuthFlow:
    """Posts a grant to `<login_url>/services/oauth2/token`."""

    login_url: str
    session: requests.Session
    form: Callable[[], dict[str, str]]
    timeout: float = 30.0

    def authenticate(self) -> Token:
        url = f"{self.login_url.rstrip('/')}/services/oauth2/token"
        response = self.session.post(url, data=self.form(), timeout=self.timeout)
        body = _json(response)
        if response.status_code != 200 or "access_token" not in body:
            code = str(body.get("error", response.status_code))
            raise AuthenticationFailed(f"{code}: {body.get('error_description', 'token refused')}")
        instance_url = str(body["instance_url"]).rstrip("/")
        return Token(SecretStr(str(body["access_token"])), instance_url, _org_id(body))


def _org_id(body: dict[str, Any]) -> str:
    """The org id of a token response: its identity URL ends `/id/<org id>/<user id>`.
    https://help.salesforce.com/s/articleView?id=sf.remoteaccess_using_openid.htm"""
    parts = str(body.get("id", "")).rstrip("/").split("/")
    return parts[-2] if len(parts) >= 3 and parts[-3] == "id" else ""


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"error": response.status_code, "error_description": "not a JSON answer"}
    return body if isinstance(body, dict) else {"error": response.status_code}


def client_credentials(client_id: str, secret: SecretStr) -> Callable[[], dict[str, str]]:
    return lambda: {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": secret.get_secret_value(),
    }


def refresh_token(
    client_id: str, token: SecretStr, secret: SecretStr | None
) -> Callable[[], dict[str, str]]:
    def form() -> dict[str, str]:
        values = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "refresh_token": token.get_secret_value(),
        }
        return values | ({"client_secret": secret.get_secret_value()} if secret else {})

    return form


def password(
    username: str,
    secret: SecretStr,
    security_token: SecretStr | None,
    client_id: str,
    client_secret: SecretStr | None,
) -> Callable[[], dict[str, str]]:
    def form() -> dict[str, str]:
        joined = secret.get_secret_value() + (
            security_token.get_secret_value() if security_token else ""
        )
        values = {
            "grant_type": "password",
            "client_id": client_id,
            "username": username,
            "password": joined,
        }
        return values | (
            {"client_secret": client_secret.get_secret_value()} if client_secret else {}
        )

    return form


def jwt_bearer(
    client_id: str,
    username: str,
    key: SecretStr,
    audience: str,
    now: Callable[[], float] = time.time,
) -> Callable[[], dict[str, str]]:
    """A fresh assertion on every call: Salesforce wants `exp` within 3 minutes.
    https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
    """

    def form() -> dict[str, str]:
        claims = {"iss": client_id, "sub": username, "aud": audience, "exp": int(now()) + 180}
        assertion = jwt.encode(claims, key.get_secret_value(), algorithm="RS256")
        return {"grant_type": JWT_GRANT, "assertion": assertion}

    return form


def authenticator_for(
    connection: SalesforceConnection, environ: Mapping[str, str], session: requests.Session
) -> OAuthFlow:
    """The tenant's configured flow, with its secrets resolved from their references."""
    auth, login = connection.auth, str(connection.login_url).rstrip("/")

    def secret(ref: Any) -> SecretStr:
        return resolve(ref, environ)

    if isinstance(auth, ClientCredentialsAuth):
        form = client_credentials(auth.client_id, secret(auth.client_secret))
    elif isinstance(auth, JwtBearerAuth):
        form = jwt_bearer(auth.client_id, auth.username, secret(auth.private_key), login)
    elif isinstance(auth, RefreshTokenAuth):
        form = refresh_token(
            auth.client_id,
            secret(auth.refresh_token),
            secret(auth.client_secret) if auth.client_secret else None,
        )
    else:
        form = _password_form(auth, secret)
    return OAuthFlow(login, session, form)


def _password_form(
    auth: UsernamePasswordAuth, secret: Callable[[Any], SecretStr]
) -> Callable[[], dict[str, str]]:
    if auth.client_id is None:
        raise AuthenticationFailed(
            "username_password needs client_id (a connected app) for the OAuth password grant"
        )
    return password(
        auth.username,
        secret(auth.password),
        secret(auth.security_token) if auth.security_token else None,
        auth.client_id,
        secret(auth.client_secret) if auth.client_secret else None,
    )
