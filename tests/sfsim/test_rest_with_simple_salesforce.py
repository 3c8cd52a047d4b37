"""The real simple-salesforce against sfsim over HTTPS: every login flow, CRUD, query paging,
Bulk API 2.0, limits and Salesforce's errors. Only the URL (login domain) and the CA differ."""

from __future__ import annotations

import csv
import io
import urllib.error
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sfsim.testing import ThreadedSfsim

VERSION = "61.0"


def connect(sfsim: ThreadedSfsim, http: requests.Session, **login: Any) -> Any:
    """simple-salesforce's objects are dynamic (sf.Account, sf.bulk2.Account): typed as Any."""
    return Salesforce(domain=sfsim.credentials.login_domain, session=http, version=VERSION, **login)


def admin_login(sfsim: ThreadedSfsim, http: requests.Session) -> Any:
    c = sfsim.credentials
    return connect(
        sfsim, http, username=c.username, password=c.password, security_token=c.security_token
    )


def test_given_username_password_and_token_when_logging_in_over_soap_then_queries_work(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    sf = admin_login(sfsim, http)

    result = sf.query("SELECT Id, Name FROM Account LIMIT 5")

    assert result["totalSize"] == 5 and result["done"] is True
    assert result["records"][0]["attributes"]["type"] == "Account"
    assert sf.sf_instance == sfsim.url.removeprefix("https://")


def test_given_a_wrong_password_when_logging_in_then_invalid_login_is_raised(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    c = sfsim.credentials

    with pytest.raises(SalesforceAuthenticationFailed, match="INVALID_LOGIN"):
        connect(sfsim, http, username=c.username, password="wrong", security_token=c.security_token)


def test_given_a_connected_app_when_using_the_password_grant_then_a_session_is_issued(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    c = sfsim.credentials

    sf = connect(
        sfsim,
        http,
        username=c.username,
        password=c.password,
        consumer_key=c.client_id,
        consumer_secret=c.client_secret,
    )

    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 20


def test_given_client_credentials_when_logging_in_then_the_run_as_user_is_used(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    c = sfsim.credentials

    sf = connect(sfsim, http, consumer_key=c.client_id, consumer_secret=c.client_secret)

    assert sf.describe()["sobjects"][0]["name"] == "Account"


def test_given_a_private_key_when_using_the_jwt_bearer_flow_then_a_session_is_issued(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    c = sfsim.credentials

    sf = connect(
        sfsim,
        http,
        username=c.username,
        consumer_key=c.client_id,
        privatekey_file=c.jwt_private_key,
    )

    assert sf.Account.describe()["keyPrefix"] == "001"


def test_given_a_refresh_token_when_posting_the_grant_then_the_token_response_is_complete(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    c = sfsim.credentials

    response = http.post(
        f"{sfsim.url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "refresh_token": c.refresh_token,
        },
    )
    refused = http.post(
        f"{sfsim.url}/services/oauth2/token",
        data={"grant_type": "refresh_token", "client_id": c.client_id, "refresh_token": "5Aepnope"},
    )

    assert response.status_code == 200
    assert set(response.json()) >= {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
    }
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_given_a_record_when_created_read_updated_deleted_then_each_step_shows(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    sf = admin_login(sfsim, http)

    created = sf.Account.create(
        {"Name": "Initech", "BillingCity": "Austin", "NumberOfEmployees": 12}
    )
    sf.Account.update(created["id"], {"Industry": "Technology"})
    record = sf.Account.get(created["id"])
    sf.Account.delete(created["id"])

    assert created["success"] is True and created["id"].startswith("001")
    assert (record["Name"], record["Industry"], record["NumberOfEmployees"]) == (
        "Initech",
        "Technology",
        12,
    )
    assert record["BillingAddress"]["city"] == "Austin"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(created["id"])
    deleted = sf.query_all(
        f"SELECT Id, IsDeleted FROM Account WHERE Id = '{created['id']}'", include_deleted=True
    )
    assert deleted["records"][0]["IsDeleted"] is True


def test_given_more_records_than_a_page_when_query_all_runs_then_it_follows_next_records_url(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    sf = admin_login(sfsim, http)
    sfsim.call(
        lambda: [sfsim.state.org.create("Contact", {"LastName": f"Page{n}"}) for n in range(2100)]
    )

    first = sf.query("SELECT Id FROM Contact WHERE LastName LIKE 'Page%'")
    everything = sf.query_all("SELECT Id, LastName FROM Contact WHERE LastName LIKE 'Page%'")

    assert first["done"] is False and "nextRecordsUrl" in first and len(first["records"]) == 2000
    assert everything["totalSize"] == 2100 and len(everything["records"]) == 2100
    assert len({r["Id"] for r in everything["records"]}) == 2100


def test_given_a_bulk2_query_when_run_then_the_csv_pages_hold_every_record(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    sf = admin_login(sfsim, http)
    expected = sf.query("SELECT COUNT() FROM Account")["totalSize"]

    pages = list(
        sf.bulk2.Account.query("SELECT Id, Name, NumberOfEmployees FROM Account", max_records=7)
    )

    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert len(pages) == -(-expected // 7)
    assert len(rows) == expected and set(rows[0]) == {"Id", "Name", "NumberOfEmployees"}


def test_given_api_calls_then_limits_and_the_usage_header_count_them(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    sf = admin_login(sfsim, http)

    before = sf.limits()["DailyApiRequests"]["Remaining"]
    sf.query("SELECT Id FROM Account LIMIT 1")
    after = sf.limits()["DailyApiRequests"]["Remaining"]

    assert after == before - 2
    assert sf.api_usage["api-usage"].used == sf.api_usage["api-usage"].total - after


def test_given_an_expired_session_when_calling_then_invalid_session_id_is_raised(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    sf = admin_login(sfsim, http)
    direct = Salesforce(
        instance_url=sfsim.url, session_id=sf.session_id, session=http, version=VERSION
    )

    sfsim.admin("expire-sessions")

    with pytest.raises(SalesforceExpiredSession, match="INVALID_SESSION_ID"):
        direct.query("SELECT Id FROM Account")
    # a client holding its login logs in again on INVALID_SESSION_ID and carries on
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1
    assert sfsim.admin("state", {})["sessions"] == 1


def test_given_faults_when_calling_then_busy_and_request_limit_errors_come_back(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    sf = admin_login(sfsim, http)

    sfsim.admin("faults", {"busy": 1})
    with pytest.raises(SalesforceGeneralError, match="SERVER_UNAVAILABLE"):
        sf.query("SELECT Id FROM Account")
    sfsim.admin("faults", {"request_limit_exceeded": True})
    with pytest.raises(SalesforceRefusedRequest, match="REQUEST_LIMIT_EXCEEDED"):
        sf.query("SELECT Id FROM Account")


def test_given_a_malformed_query_then_the_error_code_is_malformed_query(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    sf = admin_login(sfsim, http)

    with pytest.raises(SalesforceMalformedRequest, match="MALFORMED_QUERY"):
        sf.query("SELECT Id FROM Account WHERE")
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_FIELD"):
        sf.query("SELECT Colour FROM Account")


def test_given_the_ca_was_not_trusted_then_the_client_refuses_the_server(
    sfsim: ThreadedSfsim,
) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{sfsim.url}/services/data/", timeout=10)
    assert Path(sfsim.credentials.ca).exists()


def test_given_a_session_older_than_its_lifetime_then_it_has_expired(
    sfsim: ThreadedSfsim,
    http: requests.Session,
) -> None:
    sf = admin_login(sfsim, http)
    direct: Any = Salesforce(
        instance_url=sfsim.url, session_id=sf.session_id, session=http, version=VERSION
    )
    assert direct.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1

    sfsim.admin("clock", {"advance_seconds": 2 * 3600 + 1})

    with pytest.raises(SalesforceExpiredSession, match="INVALID_SESSION_ID"):
        direct.query("SELECT Id FROM Account LIMIT 1")


def test_given_a_field_added_through_the_admin_api_then_describe_and_queries_show_it(
    sfsim: ThreadedSfsim, http: requests.Session
) -> None:
    sf = admin_login(sfsim, http)
    record_id = sf.Account.create({"Name": "Before the field"})["id"]

    added = sfsim.admin("fields", {"object": "Account", "name": "Score__c", "type": "double"})
    sf.Account.update(record_id, {"Score__c": 4.5})

    types = {f["name"]: f["type"] for f in sf.Account.describe()["fields"]}
    [row] = sf.query(f"SELECT Score__c FROM Account WHERE Id = '{record_id}'")["records"]
    assert added["field"]["name"] == "Score__c" and types["Score__c"] == "double"
    assert row["Score__c"] == 4.5


def test_given_a_bad_or_duplicate_field_then_the_admin_api_refuses_it(
    sfsim: ThreadedSfsim,
) -> None:
    with pytest.raises(urllib.error.HTTPError) as bad:
        sfsim.admin("fields", {"object": "Account", "name": "NoSuffix", "type": "double"})
    with pytest.raises(urllib.error.HTTPError) as duplicate:
        sfsim.admin("fields", {"object": "Account", "name": "Industry__c", "type": "string"})
        sfsim.admin("fields", {"object": "Account", "name": "Industry__c", "type": "string"})

    assert bad.value.code == 400 and "ending in __c" in bad.value.read().decode()
    assert "DUPLICATE_DEVELOPER_NAME" in duplicate.value.read().decode()
