"""REST and Bulk API 2.0 reads of one org, paced by its API quota and retried by the classifier.

Used for backfill, gap re-fetch, overflow resync and catch-up after an outage. simple-salesforce
does the HTTP; every call passes through `call`, which asks the governor for a pause, reads
`Sforce-Limit-Info` afterwards, and turns failures into a decision (classifier.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
import structlog
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceResourceNotFound

from connectors.salesforce.auth import Authenticator
from connectors.salesforce.classifier import Decision, Failure, classify, oauth_failure
from connectors.salesforce.errors import AuthenticationFailed, SalesforceApiError
from connectors.telemetry.metrics import API_REQUESTS, API_USAGE

T = TypeVar("T")
log = structlog.get_logger(__name__)
ID_CHUNK = 200  # ids per `WHERE Id IN (...)`: keeps the query well under Salesforce's URI limit


@dataclass
class QuotaGovernor:
    """Paces calls once the org's remaining daily API requests fall under a reserve, so a
    backfill never starves the org's other integrations.
    https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm
    """

    reserve: float = 0.2  # keep this share of the daily allocation for everyone else
    pause: float = 2.0  # seconds between calls while under the reserve
    used: int | None = None
    total: int | None = None

    def observe(self, used: int, total: int) -> None:
        self.used, self.total = used, total

    def delay(self) -> float:
        if self.used is None or not self.total:
            return 0.0
        remaining = self.total - self.used
        return self.pause if remaining < self.reserve * self.total else 0.0


@dataclass
class RetryPolicy:
    attempts: int | None = 6  # None: for as long as it takes (a backfill waits out an outage)
    base_delay: float = 0.5
    max_delay: float = 30.0
    quota_backoff: float = 300.0  # REQUEST_LIMIT_EXCEEDED: wait for the rolling window to move

    def delay(self, decision: Decision, attempt: int) -> float:
        if decision is Decision.BACKOFF:
            return self.quota_backoff
        return float(min(self.max_delay, self.base_delay * 2**attempt))


@dataclass
class OrgApi:
    authenticator: Authenticator
    session: requests.Session
    api_version: str
    sleep: Callable[[float], None]
    governor: QuotaGovernor = field(default_factory=QuotaGovernor)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    tenant: str = ""  # the metrics' label
    _client: Salesforce | None = None
    # Each object's field types, as read by its last describe. Only the types are kept: a whole
    # describe (picklists, labels) is tens of kB per object in sfsim and can be megabytes in a
    # real org, held for every tenant of a listener.
    _types: dict[str, dict[str, str]] = field(default_factory=dict)

    def call(self, action: Callable[[Salesforce], T]) -> T:
        tries = range(self.retry.attempts) if self.retry.attempts else itertools.count()
        for attempt in tries:
            self.sleep(self.governor.delay())
            API_REQUESTS.labels(self.tenant).inc()
            try:
                result = action(self._sf())
            except (SalesforceError, requests.RequestException, AuthenticationFailed) as e:
                decision = classify(_failure(e))
                self._recover(decision, attempt, e)
                continue
            self._observe()
            return result
        raise SalesforceApiError(f"gave up after {self.retry.attempts} attempts", Decision.RETRY)

    def _recover(self, decision: Decision, attempt: int, error: Exception) -> None:
        log.warning(
            "salesforce call failed",
            decision=decision.value,
            attempt=attempt,
            error=type(error).__name__,
            status=getattr(error, "status", None),
        )
        if decision is Decision.REAUTH:
            self._client = None
        elif decision in (Decision.RETRY, Decision.BACKOFF):
            self.sleep(self.retry.delay(decision, attempt))
        else:
            raise SalesforceApiError(
                f"{type(error).__name__}: {_summary(error)}", decision
            ) from error

    def _sf(self) -> Salesforce:
        if self._client is None:
            token = self.authenticator.authenticate()
            self._client = Salesforce(
                instance_url=token.instance_url,
                session=self.session,
                session_id=token.access_token.get_secret_value(),
                version=self.api_version,
            )
        return self._client

    def _observe(self) -> None:
        usage = getattr(self._client, "api_usage", {}).get("api-usage")
        if usage is not None:
            self.governor.observe(int(usage.used), int(usage.total))
            API_USAGE.labels(self.tenant).set(int(usage.used) / max(1, int(usage.total)))

    # --- reads ---------------------------------------------------------------------------------

    def describe(self, obj: str) -> dict[str, Any]:
        """The object's whole describe, read now (not kept)."""
        found = self.describe_if_exists(obj)
        if found is None:
            raise _no_such_object(obj)
        return found

    def describe_if_exists(self, obj: str) -> dict[str, Any] | None:
        """None when the org has no such object (describe answers 404 NOT_FOUND)."""
        return self.call(lambda sf: _describe_or_none(sf, obj))

    def field_types(self, obj: str, fresh: bool = False) -> dict[str, str]:
        """Queryable scalar fields and their types; compound parents (BillingAddress, a
        Contact's Name) are left out, their parts carry the values. Cached per object; `fresh`
        describes it again."""
        types = self.field_types_if_exists(obj, fresh)
        if types is None:
            raise _no_such_object(obj)
        return types

    def field_types_if_exists(self, obj: str, fresh: bool = False) -> dict[str, str] | None:
        if fresh or obj not in self._types:
            found = self.describe_if_exists(obj)
            if found is None:
                return None
            self._types[obj] = scalar_types(found)
        return self._types[obj]

    def records_by_id(self, obj: str, ids: list[str]) -> list[dict[str, Any]]:
        names = ", ".join(self.field_types(obj))
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), ID_CHUNK):
            quoted = ", ".join(f"'{i}'" for i in ids[start : start + ID_CHUNK])
            found += self._rows(f"SELECT {names} FROM {obj} WHERE Id IN ({quoted})")
        return found

    def _rows(self, soql: str) -> list[dict[str, Any]]:
        """Every row of a queryAll (the Recycle Bin included), following nextRecordsUrl."""
        records: list[dict[str, Any]] = self.call(
            lambda sf: sf.query_all(soql, include_deleted=True)["records"]
        )
        return records

    def changed_since(self, obj: str, since: str) -> list[dict[str, Any]]:
        """Rows whose SystemModstamp is at or after `since` (Salesforce datetime text)."""
        names = ", ".join(self.field_types(obj))
        return self._rows(
            f"SELECT {names} FROM {obj} WHERE SystemModstamp >= {since} ORDER BY SystemModstamp"
        )

    def all_rows(self, obj: str) -> list[dict[str, Any]]:
        """Every live row over REST (deleted rows are not part of a backfill)."""
        names = ", ".join(self.field_types(obj))
        records: list[dict[str, Any]] = self.call(
            lambda sf: sf.query_all(f"SELECT {names} FROM {obj}")["records"]
        )
        return records

    def count(self, obj: str) -> int:
        return int(self.call(lambda sf: sf.query(f"SELECT COUNT() FROM {obj}")["totalSize"]))


def _no_such_object(obj: str) -> SalesforceApiError:
    return SalesforceApiError(
        f"the org has no object {obj}: check the tenant config's object names",
        Decision.CONFIG_ERROR,
    )


def scalar_types(describe: dict[str, Any]) -> dict[str, str]:
    fields = describe["fields"]
    parents = {f.get("compoundFieldName") for f in fields} - {None}
    return {
        f["name"]: f["type"]
        for f in fields
        if f["name"] not in parents and f["type"] not in ("address", "location")
    }


def _describe_or_none(sf: Salesforce, obj: str) -> dict[str, Any] | None:
    sobject = getattr(sf, obj)
    try:
        found: dict[str, Any] = sobject.describe()
    except SalesforceResourceNotFound:
        return None
    # the SObject keeps the response's Sforce-Limit-Info to itself: the governor reads the org's
    sf.api_usage = dict(sobject.api_usage) or sf.api_usage
    return found


def typed(field_type: str, text: str | None) -> Any:
    """A Bulk CSV cell as the JSON value REST would have given."""
    if text is None or text == "":
        return None
    if field_type == "boolean":
        return text.lower() == "true"
    if field_type == "int":
        return int(text)
    if field_type in ("double", "currency", "percent"):
        number = float(text)
        return int(number) if number.is_integer() else number
    return text


def _failure(error: Exception) -> Failure:
    if isinstance(error, AuthenticationFailed):
        return oauth_failure(str(error))
    if isinstance(error, requests.RequestException):
        return Failure(network=True)
    content = getattr(error, "content", None)
    code = content[0].get("errorCode") if isinstance(content, list) and content else None
    return Failure(status=getattr(error, "status", None), error_code=code)


def _summary(error: Exception) -> str:
    content = getattr(error, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return f"{content[0].get('errorCode')}: {content[0].get('message')}"
    return str(error)[:300]
