"""What to do about a failed Salesforce call: a pure decision, one reason per case.

Modelled on Airbyte's source-salesforce: the transport reports what happened (HTTP status,
Salesforce errorCode, or a Bayeux error string) and this table decides; nothing here sleeps.
REST error codes: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
Streaming errors: https://developer.salesforce.com/docs/atlas.en-us.api_streaming.meta/api_streaming/streaming_error_codes.htm
Pub/Sub API errors (a gRPC status and an `error-code` trailer):
https://developer.salesforce.com/docs/platform/pub-sub-api/guide/handling-errors.html
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Decision(StrEnum):
    RETRY = "retry"  # try the same call again after a backoff
    BACKOFF = "backoff"  # the org's quota is spent: wait long, then retry
    REAUTH = "reauth"  # get a new token, then retry
    RESUBSCRIBE = "resubscribe"  # start a new CometD session (handshake, subscribe)
    CATCH_UP = "catch_up"  # the replay id is gone: query by SystemModstamp, then stream
    CONFIG_ERROR = "config_error"  # the tenant's settings are wrong: stop it and say why
    FATAL = "fatal"  # a bug or an unknown failure: stop it loudly


@dataclass(frozen=True)
class Failure:
    status: int | None = None  # HTTP status, when there was a response
    error_code: str | None = None  # REST errorCode or OAuth error
    bayeux: str | None = None  # a CometD error string such as "403::Unknown client"
    network: bool = False  # no response at all: refused, reset, timed out
    grpc_status: str | None = None  # a Pub/Sub call's gRPC status name, e.g. "UNAUTHENTICATED"
    grpc_error_code: str | None = None  # its `error-code` trailer, e.g. "sfdc.platform..."


def classify(failure: Failure) -> Decision:
    if failure.network:
        # The connection broke before an answer: nothing was refused, so the same call may pass.
        return Decision.RETRY
    if failure.bayeux is not None:
        return _classify_bayeux(failure.bayeux)
    if failure.grpc_status is not None:
        return _classify_grpc(failure.grpc_status, failure.grpc_error_code or "")
    return _classify_rest(failure.status, failure.error_code)


_REST_CODES = {
    # The session ended (expired, revoked, logged out): a new token fixes it.
    "INVALID_SESSION_ID": Decision.REAUTH,
    # The org's daily API allocation is used up: retrying soon only burns more of nothing.
    "REQUEST_LIMIT_EXCEEDED": Decision.BACKOFF,
    # Salesforce is busy or down for a moment; its own guidance is to retry.
    "SERVER_UNAVAILABLE": Decision.RETRY,
    # A row lock held by another transaction; it clears when that one commits.
    "UNABLE_TO_LOCK_ROW": Decision.RETRY,
    # The query names a field or object the org does not have: the tenant config is wrong.
    "INVALID_FIELD": Decision.CONFIG_ERROR,
    "INVALID_TYPE": Decision.CONFIG_ERROR,
    # The user may not use the API or see the object: an admin must grant it.
    "API_DISABLED_FOR_ORG": Decision.CONFIG_ERROR,
    "INSUFFICIENT_ACCESS": Decision.CONFIG_ERROR,
    # OAuth: the credentials or the connected app are wrong; retrying cannot fix them.
    "invalid_grant": Decision.CONFIG_ERROR,
    "invalid_client": Decision.CONFIG_ERROR,
    "invalid_client_id": Decision.CONFIG_ERROR,
    # OAuth: the integration user or the whole org was deactivated; an admin must act.
    "inactive_user": Decision.CONFIG_ERROR,
    "inactive_org": Decision.CONFIG_ERROR,
    # OAuth: too many logins for this user in the hour; more attempts only prolong it.
    "rate_limit_exceeded": Decision.BACKOFF,
    # We built a query Salesforce cannot parse: our bug, not the tenant's.
    "MALFORMED_QUERY": Decision.FATAL,
}


def oauth_failure(text: str) -> Failure:
    """An `AuthenticationFailed` (auth.py says `<code>: <description>`) as a Failure: the OAuth
    error code when the token endpoint gave one, else the HTTP status it answered with (an org
    down for maintenance answers its login with a 503 page, and that is worth retrying)."""
    code = text.split(":", 1)[0].strip()
    if code.isdigit():
        return Failure(status=int(code))
    return Failure(status=400, error_code=code)


def _classify_rest(status: int | None, code: str | None) -> Decision:
    if code in _REST_CODES:
        return _REST_CODES[code]
    if status == 401:
        # Unauthorized without a known code is still a session problem.
        return Decision.REAUTH
    if status is not None and (status >= 500 or status == 429):
        # Server-side trouble or throttling: transient by nature.
        return Decision.RETRY
    # Any other 4xx is a request we should not have made; repeating it repeats the error.
    return Decision.FATAL


def _classify_bayeux(error: str) -> Decision:
    code, _, text = error.partition("::")
    if code == "401" or text.startswith("Handshake denied"):
        # Authentication invalid: the session ended; log in again and resubscribe.
        return Decision.REAUTH
    if text.startswith("Unknown client"):
        # The server dropped our CometD session (timeouts, scaling): handshake again.
        return Decision.RESUBSCRIBE
    if code == "400" and "replayId" in text:
        # The stored replay id fell out of the 72-hour window: catch up by query.
        return Decision.CATCH_UP
    if "daily limit exceeded" in text:
        # The org's event delivery allocation is spent until the 24-hour window moves on.
        return Decision.BACKOFF
    if code == "403" and "channel" in text.lower():
        # Unknown or forbidden channel: CDC is not enabled for that object in the org.
        return Decision.CONFIG_ERROR
    # Unrecognised server error: resubscribing is the safe way back to a known state.
    return Decision.RESUBSCRIBE


_REPLAY_GONE = ("fetch.replayid.corrupted", "fetch.replayid.validation.failed")

_GRPC_STATUSES = {
    # The session expired or was revoked: a new token, then subscribe again.
    "UNAUTHENTICATED": Decision.REAUTH,
    # The integration user may not read the topic: an admin must grant it.
    "PERMISSION_DENIED": Decision.CONFIG_ERROR,
    # No such topic: Change Data Capture is not enabled for the object in this org.
    "NOT_FOUND": Decision.CONFIG_ERROR,
    # Too many subscribers or events for the org's allocations: wait long, then retry.
    "RESOURCE_EXHAUSTED": Decision.BACKOFF,
    # The service is down for a moment or dropped the stream (Salesforce's own example
    # subscribes again); a deadline or a server-side error likewise.
    "UNAVAILABLE": Decision.RESUBSCRIBE,
    "DEADLINE_EXCEEDED": Decision.RESUBSCRIBE,
    "INTERNAL": Decision.RESUBSCRIBE,
    "UNKNOWN": Decision.RESUBSCRIBE,
    "ABORTED": Decision.RESUBSCRIBE,
    # The server ended the call (it cancels streams on maintenance and idle timeouts).
    "CANCELLED": Decision.RESUBSCRIBE,
}


def _classify_grpc(status: str, error_code: str) -> Decision:
    if status == "INVALID_ARGUMENT" and error_code.endswith(_REPLAY_GONE):
        # The stored replay id is past the 72-hour window (or unreadable): catch up by query.
        return Decision.CATCH_UP
    if status == "INVALID_ARGUMENT":
        # Any other argument Salesforce refuses is one we built wrong: our bug.
        return Decision.FATAL
    # An unknown status: subscribing again is the safe way back to a known state.
    return _GRPC_STATUSES.get(status, Decision.RESUBSCRIBE)
