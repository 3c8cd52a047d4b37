"""Identity: users, connected apps, OAuth grants, the SOAP login, and sessions that expire.

Token responses carry what Salesforce's do (access_token, instance_url, id, token_type,
issued_at, signature); a bad grant answers `{"error": "invalid_grant", ...}` with status 400.
https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flows.htm
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import jwt

from sfsim.clock import Clock, epoch_ms
from sfsim.ids import make_id
from sfsim.org import ORG_ID

SESSION_TTL = timedelta(hours=2)


class AuthError(Exception):
    """An OAuth or login failure: `error` and `description` as Salesforce words them."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


@dataclass(frozen=True)
class User:
    username: str
    password: str
    security_token: str
    user_id: str


@dataclass(frozen=True)
class ConnectedApp:
    client_id: str
    client_secret: str
    run_as: str  # username for the client-credentials flow
    certificate_pem: str | None = None  # for JWT bearer


@dataclass
class Session:
    token: str
    user: User
    client_id: str | None
    issued_at: datetime
    expires_at: datetime


@dataclass
class Identity:
    clock: Clock
    instance_url: str = ""
    users: dict[str, User] = field(default_factory=dict)
    apps: dict[str, ConnectedApp] = field(default_factory=dict)
    refresh_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> app, user
    sessions: dict[str, Session] = field(default_factory=dict)
    ttl: timedelta = SESSION_TTL

    def add_user(self, username: str, password: str, security_token: str = "") -> User:
        user = User(username, password, security_token, make_id("005", len(self.users) + 2))
        self.users[username] = user
        return user

    def add_app(
        self, client_id: str, client_secret: str, run_as: str, certificate_pem: str | None = None
    ) -> ConnectedApp:
        app = ConnectedApp(client_id, client_secret, run_as, certificate_pem)
        self.apps[client_id] = app
        return app

    def issue_refresh_token(self, client_id: str, username: str) -> str:
        token = "5Aep" + secrets.token_urlsafe(32)
        self.refresh_tokens[token] = (client_id, username)
        return token

    # --- grants --------------------------------------------------------------------------------

    def password_grant(
        self, client_id: str, client_secret: str, username: str, password: str
    ) -> Session:
        self._app(client_id, client_secret)
        return self._open(self._user_password(username, password), client_id)

    def client_credentials(self, client_id: str, client_secret: str) -> Session:
        app = self._app(client_id, client_secret)
        return self._open(self._user(app.run_as), client_id)

    def refresh(self, client_id: str, client_secret: str | None, refresh_token: str) -> Session:
        owner = self.refresh_tokens.get(refresh_token)
        if owner is None or owner[0] != client_id:
            raise AuthError("invalid_grant", "expired access/refresh token")
        if client_secret is not None:
            self._app(client_id, client_secret)
        return self._open(self._user(owner[1]), client_id)

    def jwt_bearer(self, assertion: str, audience: str) -> Session:
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
            app = self.apps[str(claims["iss"])]
            if app.certificate_pem is None:
                raise AuthError("invalid_client", "no certificate for this app")
            jwt.decode(
                assertion,
                app.certificate_pem,
                algorithms=["RS256"],
                audience=audience,
                options={"verify_exp": False},
            )
        except (jwt.PyJWTError, KeyError) as e:
            raise AuthError("invalid_grant", "invalid assertion") from e
        if int(claims.get("exp", 0)) * 1000 < epoch_ms(self.clock.now()):
            raise AuthError("invalid_grant", "expired authorization code")
        return self._open(self._user(str(claims["sub"])), app.client_id)

    def soap_login(self, username: str, password_and_token: str) -> Session:
        user = self.users.get(username)
        if user is None or password_and_token != user.password + user.security_token:
            raise AuthError(
                "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
            )
        return self._open(user, None)

    # --- sessions ------------------------------------------------------------------------------

    def session(self, token: str) -> Session | None:
        found = self.sessions.get(token)
        if found is None or found.expires_at <= self.clock.now():
            return None
        return found

    def expire_all(self) -> int:
        """Fault: every open session ends now (clients see INVALID_SESSION_ID / 401::...)."""
        count = len(self.sessions)
        self.sessions.clear()
        return count

    def token_response(self, session: Session, login_url: str) -> dict[str, str]:
        issued = str(epoch_ms(session.issued_at))
        identity_url = f"{login_url}/id/{ORG_ID}/{session.user.user_id}"
        secret = (
            self.apps[session.client_id].client_secret if session.client_id in self.apps else ""
        )
        digest = hmac.new(
            secret.encode(), (identity_url + issued).encode(), hashlib.sha256
        ).digest()
        return {
            "access_token": session.token,
            "instance_url": self.instance_url,
            "id": identity_url,
            "token_type": "Bearer",
            "issued_at": issued,
            "scope": "api",
            "signature": base64.b64encode(digest).decode(),
        }

    def _open(self, user: User, client_id: str | None) -> Session:
        now = self.clock.now()
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        session = Session(token, user, client_id, now, now + self.ttl)
        self.sessions[token] = session
        return session

    def _app(self, client_id: str, client_secret: str) -> ConnectedApp:
        app = self.apps.get(client_id)
        if app is None:
            raise AuthError("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(app.client_secret, client_secret):
            raise AuthError("invalid_client", "invalid client credentials")
        return app

    def _user(self, username: str) -> User:
        user = self.users.get(username)
        if user is None:
            raise AuthError("invalid_grant", "user hasn't approved this consumer")
        return user

    def _user_password(self, username: str, password: str) -> User:
        user = self.users.get(username)
        valid = user is not None and password in (
            user.password,
            user.password + user.security_token,
        )
        if not valid or user is None:
            raise AuthError("invalid_grant", "authentication failure")
        return user
