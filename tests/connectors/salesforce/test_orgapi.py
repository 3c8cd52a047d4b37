"""REST reads against sfsim: retries, re-auth and quota backoff decided by the classifier,
with the sleeps recorded instead of slept."""

from __future__ import annotations

import pytest

from connectors.salesforce.auth import authenticator_for, http_session
from connectors.salesforce.classifier import Decision
from connectors.salesforce.errors import SalesforceApiError
from connectors.salesforce.orgapi import OrgApi, QuotaGovernor, RetryPolicy, typed
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import a_tenant, sfsim_environ


def an_api(sfsim: ThreadedSfsim, slept: list[float], **kw: object) -> OrgApi:
    session = http_session(sfsim.credentials.ca)
    auth = authenticator_for(a_tenant(sfsim).salesforce, sfsim_environ(sfsim), session)
    return OrgApi(auth, session, "61.0", sleep=slept.append, **kw)  # type: ignore[arg-type]


def test_given_a_busy_org_when_counting_then_the_call_is_retried_after_a_backoff(
    sfsim: ThreadedSfsim,
) -> None:
    slept: list[float] = []
    api = an_api(sfsim, slept)
    sfsim.admin("faults", {"busy": 2})

    assert api.count("Account") >= 20
    assert [s for s in slept if s] == [0.5, 1.0]


def test_given_an_ended_session_then_the_api_logs_in_again_once(sfsim: ThreadedSfsim) -> None:
    slept: list[float] = []
    api = an_api(sfsim, slept)
    api.count("Account")
    sessions_before = sfsim.admin("state")["sessions"]

    sfsim.admin("expire-sessions")

    assert api.count("Account") >= 20
    assert sfsim.admin("state")["sessions"] == 1 and sessions_before >= 1


def test_given_the_quota_spent_then_it_waits_the_quota_backoff_and_goes_on(
    sfsim: ThreadedSfsim,
) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if seconds == 7.0:  # the quota window "moved on" while we waited
            sfsim.admin("faults", {"request_limit_exceeded": False})

    api = an_api(sfsim, [], retry=RetryPolicy(quota_backoff=7.0))
    api.sleep = sleep
    sfsim.admin("faults", {"request_limit_exceeded": True})

    assert api.count("Account") >= 20
    assert 7.0 in slept


def test_given_an_unknown_object_then_it_is_a_config_error_without_retries(
    sfsim: ThreadedSfsim,
) -> None:
    slept: list[float] = []
    api = an_api(sfsim, slept)

    with pytest.raises(SalesforceApiError) as raised:
        api.count("Invoice__c")

    assert raised.value.decision == Decision.CONFIG_ERROR
    assert not [s for s in slept if s]


def test_given_remaining_quota_under_the_reserve_then_calls_are_paced() -> None:
    governor = QuotaGovernor(reserve=0.2, pause=3.0)

    governor.observe(used=100, total=1000)
    relaxed = governor.delay()
    governor.observe(used=900, total=1000)

    assert (relaxed, governor.delay()) == (0.0, 3.0)


def test_given_a_real_org_then_limits_usage_is_observed_after_each_call(
    sfsim: ThreadedSfsim,
) -> None:
    api = an_api(sfsim, [])

    api.count("Account")

    assert api.governor.total == 15_000 and api.governor.used is not None and api.governor.used > 0


def test_given_a_describe_as_the_first_call_then_limits_usage_is_observed(
    sfsim: ThreadedSfsim,
) -> None:
    api = an_api(sfsim, [])

    api.field_types("Account")

    assert api.governor.total == 15_000 and api.governor.used is not None and api.governor.used > 0


def test_given_field_types_then_compound_parents_are_left_out(sfsim: ThreadedSfsim) -> None:
    types = an_api(sfsim, []).field_types("Contact")

    assert "Name" not in types and "MailingAddress" not in types
    assert types["FirstName"] == "string" and types["Birthdate"] == "date"


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("int", "12", 12),
        ("double", "2.5", 2.5),
        ("currency", "100.0", 100),
        ("boolean", "true", True),
        ("boolean", "false", False),
        ("string", "", None),
        ("date", "2026-01-31", "2026-01-31"),
    ],
)
def test_given_a_bulk_csv_cell_then_it_becomes_the_rest_value(
    kind: str, text: str, value: object
) -> None:
    assert typed(kind, text) == value


def test_given_an_outage_longer_than_the_default_attempts_when_unlimited_then_it_waits_it_out(
    sfsim: ThreadedSfsim,
) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        if seconds:
            slept.append(seconds)
        if len(slept) == 10:  # the org comes back after ten backoffs
            sfsim.admin("faults", {"outage": False})

    api = an_api(sfsim, [], retry=RetryPolicy(attempts=None, max_delay=4.0))
    api.sleep = sleep
    sfsim.admin("faults", {"outage": True})

    assert api.count("Account") >= 20
    assert len(slept) == 10 > RetryPolicy().attempts  # type: ignore[operator]
    assert max(slept) == 4.0  # doubling, capped


def test_given_an_org_slower_than_the_read_timeout_then_the_call_times_out_and_is_retried(
    sfsim: ThreadedSfsim,
) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        if seconds:
            slept.append(seconds)
            sfsim.admin("faults", {"slow_seconds": 0})  # answered in time from now on

    api = an_api(sfsim, [])
    api.count("Account")  # logged in while the org is quick
    api.session.timeout = (5.0, 0.5)  # type: ignore[attr-defined]
    api.sleep = sleep
    sfsim.admin("faults", {"slow_seconds": 2})

    assert api.count("Account") >= 20
    assert slept == [0.5]  # one timeout, one retry
