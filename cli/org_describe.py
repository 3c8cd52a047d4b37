"""What the org check needs from a tenant's org: the describe of every object its config names.

Logs in with the tenant's own auth (secret references resolved from the environment) and reads
through the listener's `OrgApi`, so the CLI sees the field types the pipeline sees: compound
parents are left out (`OrgApi.field_types`) and `schemas.org_check` knows an address by its
parts. A person is waiting, so the retries give up within seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.salesforce.auth import authenticator_for, http_session
from connectors.salesforce.classifier import Decision
from connectors.salesforce.errors import SalesforceApiError, SalesforceConnectorError
from connectors.salesforce.orgapi import OrgApi, RetryPolicy
from schemas.org_check import objects_named
from schemas.tenant import TenantConfig

# three tries over about 3.5 s: long enough for a blip, short enough for a command line
CHECK_RETRY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=2.0)
# the classifier's verdicts after which the org may work on a later try: it did not answer
UNREACHED = {Decision.RETRY, Decision.BACKOFF}


class OrgUnavailable(Exception):
    """The org could not be asked (unreachable, login refused, a secret missing); the config
    itself may be fine."""


@dataclass(frozen=True)
class OrgView:
    """Field types of each object the config names (None: not in the org) and every object the
    org has (for suggestions)."""

    describes: dict[str, dict[str, str] | None]
    objects: list[str]


def read_org(
    config: TenantConfig,
    environ: Mapping[str, str],
    ca_file: str | None,
    sleep: Callable[[float], None] = time.sleep,
) -> OrgView:
    try:
        api = _api(config, environ, ca_file, sleep)
        objects = _object_names(api)
        named = objects_named(config)
        describes = {obj: api.field_types(obj) if obj in objects else None for obj in named}
    except SalesforceConnectorError as e:
        raise OrgUnavailable(_why(config, e)) from e
    return OrgView(describes, objects)


def _object_names(api: OrgApi) -> list[str]:
    """Every object the org has (the global describe)."""
    found: dict[str, Any] | None = api.call(lambda sf: sf.describe())
    return [str(o["name"]) for o in (found or {}).get("sobjects", [])]


def _api(
    config: TenantConfig,
    environ: Mapping[str, str],
    ca_file: str | None,
    sleep: Callable[[float], None],
) -> OrgApi:
    session = http_session(ca_file)
    authenticator = authenticator_for(config.salesforce, environ, session)
    return OrgApi(
        authenticator,
        session,
        config.salesforce.api_version,
        sleep=sleep,
        retry=CHECK_RETRY,
        tenant=config.tenant,
    )


def _why(config: TenantConfig, error: SalesforceConnectorError) -> str:
    where = str(config.salesforce.login_url).rstrip("/")
    if isinstance(error, SalesforceApiError) and error.decision in UNREACHED:
        instance = str(config.salesforce.instance_url).rstrip("/")
        return (
            f"the org (login {where}, instance {instance}) is unreachable ({error}); check "
            "salesforce.login_url and instance_url, the network, and LISTENER_SALESFORCE_CA_FILE "
            "for a private CA"
        )
    if isinstance(error, SalesforceApiError):
        return (
            f"the org at {where} refused the check ({error}); check salesforce.auth and that "
            "the integration user may read the objects"
        )
    return f"cannot log in to the org at {where}: {error}"
