"""Every failure the connector meets maps to one decision; the table is the contract."""

from __future__ import annotations

import pytest

from connectors.salesforce.classifier import Decision, Failure, classify, oauth_failure

PUBSUB = "sfdc.platform.eventbus.grpc"
CASES = [
    (Failure(network=True), Decision.RETRY),
    (Failure(status=401, error_code="INVALID_SESSION_ID"), Decision.REAUTH),
    (Failure(status=401), Decision.REAUTH),
    (Failure(status=403, error_code="REQUEST_LIMIT_EXCEEDED"), Decision.BACKOFF),
    (Failure(status=503, error_code="SERVER_UNAVAILABLE"), Decision.RETRY),
    (Failure(status=502), Decision.RETRY),
    (Failure(status=429), Decision.RETRY),
    (Failure(status=400, error_code="UNABLE_TO_LOCK_ROW"), Decision.RETRY),
    (Failure(status=400, error_code="INVALID_FIELD"), Decision.CONFIG_ERROR),
    (Failure(status=404, error_code="INVALID_TYPE"), Decision.CONFIG_ERROR),
    (Failure(status=403, error_code="API_DISABLED_FOR_ORG"), Decision.CONFIG_ERROR),
    (Failure(status=400, error_code="invalid_grant"), Decision.CONFIG_ERROR),
    (Failure(status=400, error_code="invalid_client_id"), Decision.CONFIG_ERROR),
    (Failure(status=400, error_code="inactive_user"), Decision.CONFIG_ERROR),
    (Failure(status=400, error_code="inactive_org"), Decision.CONFIG_ERROR),
    (Failure(status=400, error_code="rate_limit_exceeded"), Decision.BACKOFF),
    (Failure(status=400, error_code="MALFORMED_QUERY"), Decision.FATAL),
    (Failure(status=400), Decision.FATAL),
    (Failure(bayeux="401::Authentication invalid"), Decision.REAUTH),
    (Failure(bayeux="403::Handshake denied"), Decision.REAUTH),
    (Failure(bayeux="403::Unknown client"), Decision.RESUBSCRIBE),
    (
        Failure(
            bayeux="400::The replayId {9} you provided was invalid. Please provide a valid ID, "
            "-2 to replay all events, or -1 to replay only new events."
        ),
        Decision.CATCH_UP,
    ),
    (Failure(bayeux="403::Organization total events daily limit exceeded"), Decision.BACKOFF),
    (Failure(bayeux="403::Unknown channel /data/FooChangeEvent"), Decision.CONFIG_ERROR),
    (Failure(bayeux="500::Internal Server Error"), Decision.RESUBSCRIBE),
    # Pub/Sub API: gRPC statuses with Salesforce's error-code trailers (handling-errors guide)
    (
        Failure(grpc_status="UNAUTHENTICATED", grpc_error_code=f"{PUBSUB}.service.auth.error"),
        Decision.REAUTH,
    ),
    (
        Failure(
            grpc_status="INVALID_ARGUMENT",
            grpc_error_code=f"{PUBSUB}.subscription.fetch.replayid.corrupted",
        ),
        Decision.CATCH_UP,
    ),
    (
        Failure(
            grpc_status="INVALID_ARGUMENT",
            grpc_error_code=f"{PUBSUB}.subscription.fetch.replayid.validation.failed",
        ),
        Decision.CATCH_UP,
    ),
    (
        Failure(
            grpc_status="INVALID_ARGUMENT",
            grpc_error_code=f"{PUBSUB}.subscription.fetch.requested.events.invalid",
        ),
        Decision.FATAL,
    ),
    (Failure(grpc_status="INVALID_ARGUMENT"), Decision.FATAL),
    (Failure(grpc_status="PERMISSION_DENIED"), Decision.CONFIG_ERROR),
    (
        Failure(grpc_status="NOT_FOUND", grpc_error_code=f"{PUBSUB}.topic.not.found"),
        Decision.CONFIG_ERROR,
    ),
    (
        Failure(
            grpc_status="RESOURCE_EXHAUSTED",
            grpc_error_code=f"{PUBSUB}.concurrent.client.limit.exceeded",
        ),
        Decision.BACKOFF,
    ),
    (
        Failure(grpc_status="UNAVAILABLE", grpc_error_code=f"{PUBSUB}.service.unavailable"),
        Decision.RESUBSCRIBE,
    ),
    (Failure(grpc_status="DEADLINE_EXCEEDED"), Decision.RESUBSCRIBE),
    (Failure(grpc_status="INTERNAL"), Decision.RESUBSCRIBE),
    (Failure(grpc_status="CANCELLED"), Decision.RESUBSCRIBE),
    (Failure(grpc_status="DATA_LOSS"), Decision.RESUBSCRIBE),
]


@pytest.mark.parametrize(("failure", "decision"), CASES, ids=[str(c[0]) for c in CASES])
def test_given_a_failure_then_the_decision_is_the_documented_one(
    failure: Failure, decision: Decision
) -> None:
    assert classify(failure) is decision


# What auth.py's AuthenticationFailed says, and the decision it leads to: an org down for
# maintenance answers its login with a 503 page (no OAuth error), which must not stop the tenant.
OAUTH = [
    ("503: not a JSON answer", Failure(status=503), Decision.RETRY),
    ("502: token refused", Failure(status=502), Decision.RETRY),
    (
        "invalid_client: invalid client credentials",
        Failure(400, "invalid_client"),
        Decision.CONFIG_ERROR,
    ),
    ("invalid_grant: authentication failure", Failure(400, "invalid_grant"), Decision.CONFIG_ERROR),
    ("rate_limit_exceeded: too many logins", Failure(400, "rate_limit_exceeded"), Decision.BACKOFF),
]


@pytest.mark.parametrize(("text", "failure", "decision"), OAUTH, ids=[c[0] for c in OAUTH])
def test_given_a_refused_login_then_its_code_or_status_decides(
    text: str, failure: Failure, decision: Decision
) -> None:
    assert oauth_failure(text) == failure
    assert classify(oauth_failure(text)) is decision
