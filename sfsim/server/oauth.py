"""The login endpoints: OAuth 2.0 token (four grants) and the SOAP `login()` call.

Clients that build `https://{domain}.salesforce.com/...` reach these with the domain set to
`127.0.0.1:PORT/login`: sfsim serves the same endpoints under `/<anything>.salesforce.com/`.
SOAP login: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_login.htm
"""

from __future__ import annotations

import base64
import re
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from aiohttp import web

from sfsim.auth import AuthError, Session
from sfsim.org import ORG_ID
from sfsim.server.state import SimState, state_of

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_SOAP_NS = {"n1": "urn:partner.soap.sforce.com"}


def login_url(request: web.Request, state: SimState) -> str:
    domain = request.match_info.get("domain")
    return f"{state.base_url}/{domain}" if domain else state.base_url


async def token(request: web.Request) -> web.Response:
    state = state_of(request)
    form = await request.post()
    values = _basic_credentials(request) | {k: str(v) for k, v in form.items()}
    try:
        session = _grant(state, values, login_url(request, state))
    except AuthError as e:
        return web.json_response({"error": e.error, "error_description": e.description}, status=400)
    except KeyError as e:
        return web.json_response(
            {"error": "invalid_request", "error_description": f"missing {e}"}, status=400
        )
    return web.json_response(state.identity.token_response(session, login_url(request, state)))


def _basic_credentials(request: web.Request) -> dict[str, str]:
    """Client id and secret sent as HTTP Basic auth (RFC 6749 2.3.1), as simple-salesforce's
    client-credentials login does."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return {}
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return {}
    return {"client_id": client_id, "client_secret": secret}


def _grant(state: SimState, form: dict[str, str], audience: str) -> Session:
    grant = form.get("grant_type")
    identity = state.identity
    if grant == "password":
        return identity.password_grant(
            form["client_id"], form.get("client_secret", ""), form["username"], form["password"]
        )
    if grant == "client_credentials":
        return identity.client_credentials(form["client_id"], form["client_secret"])
    if grant == "refresh_token":
        return identity.refresh(form["client_id"], form.get("client_secret"), form["refresh_token"])
    if grant == JWT_GRANT:
        return identity.jwt_bearer(form["assertion"], audience)
    raise AuthError("unsupported_grant_type", "grant type not supported")


async def soap_login(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await request.text()
    try:
        root = ElementTree.fromstring(body)
        username = root.findtext(".//n1:username", default="", namespaces=_SOAP_NS)
        password = root.findtext(".//n1:password", default="", namespaces=_SOAP_NS)
        session = state.identity.soap_login(username, password)
    except ElementTree.ParseError:
        return _soap_fault("INVALID_XML", "could not parse the SOAP request")
    except AuthError as e:
        return _soap_fault(e.error, f"{e.error}: {e.description}")
    version = request.match_info["version"]
    return web.Response(text=_login_response(state, session, version), content_type="text/xml")


def _login_response(state: SimState, session: Session, version: str) -> str:
    server = f"{state.base_url}/services/Soap/u/{version}/{ORG_ID}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{state.base_url}/services/Soap/m/{version}/{ORG_ID}</metadataServerUrl>"
        f"<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{server}</serverUrl><sessionId>{escape(session.token)}</sessionId>"
        f"<userId>{session.user.user_id}</userId><userInfo><organizationId>{ORG_ID}</organizationId>"
        f"<userName>{escape(session.user.username)}</userName></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )


def _soap_fault(code: str, message: str) -> web.Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{escape(message)}</faultstring>"
        f"<detail><sf:LoginFault><sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return web.Response(text=xml, status=500, content_type="text/xml")


def bearer_token(request: web.Request) -> str | None:
    """`Authorization: Bearer <token>` (or the older `OAuth <token>`)."""
    match = re.fullmatch(r"(?:Bearer|OAuth)\s+(\S+)", request.headers.get("Authorization", ""))
    return match.group(1) if match else None
