"""Builders for listener tests: tenant configs pointing at an sfsim org."""

from __future__ import annotations

from typing import Any

from schemas.loader import validate_tenant_config
from schemas.tenant import TenantConfig
from sfsim.testing import ThreadedSfsim

SECRET_VAR = "SFSIM_CLIENT_SECRET"


def tenant_document(
    sfsim: ThreadedSfsim, tenant: str, flow: str = "client_credentials", **sections: Any
) -> dict[str, Any]:
    c = sfsim.credentials
    auths: dict[str, dict[str, Any]] = {
        "client_credentials": {"client_id": c.client_id, "client_secret": {"env": SECRET_VAR}},
        "jwt_bearer": {
            "client_id": c.client_id,
            "username": c.username,
            "private_key": {"file": c.jwt_private_key},
        },
        "refresh_token": {
            "client_id": c.client_id,
            "client_secret": {"env": SECRET_VAR},
            "refresh_token": {"env": "SFSIM_REFRESH_TOKEN"},
        },
        "username_password": {
            "username": c.username,
            "password": {"env": "SFSIM_PASSWORD"},
            "security_token": {"env": "SFSIM_TOKEN"},
            "client_id": c.client_id,
            "client_secret": {"env": SECRET_VAR},
        },
    }
    document: dict[str, Any] = {
        "tenant": tenant,
        "salesforce": {
            "instance_url": c.url,
            "login_url": c.url,
            "auth": {"flow": flow, **auths[flow]},
        },
        "accounts": {"sync_mode": "create_new", "id_field": "AccountNumber"},
        "contacts": {"sync_mode": "create_new", "id_field": "Email"},
    }
    return document | sections


def a_tenant(
    sfsim: ThreadedSfsim,
    tenant: str = "acme",
    flow: str = "client_credentials",
    transport: str = "cometd",
    pubsub_endpoint: str | None = None,
    **sections: Any,
) -> TenantConfig:
    """A tenant on sfsim; `transport="pubsub"` reads it over sfsim's Pub/Sub API (or over
    `pubsub_endpoint`, a proxy in front of it)."""
    document = tenant_document(sfsim, tenant, flow, **sections)
    if transport == "pubsub":
        document["salesforce"] |= {
            "transport": "pubsub",
            "pubsub_endpoint": pubsub_endpoint or sfsim.credentials.pubsub,
        }
    return validate_tenant_config(document)


def sfsim_environ(sfsim: ThreadedSfsim) -> dict[str, str]:
    """Where the tenant configs' secret references point: values the test owns."""
    c = sfsim.credentials
    return {
        SECRET_VAR: c.client_secret,
        "SFSIM_REFRESH_TOKEN": c.refresh_token,
        "SFSIM_PASSWORD": c.password,
        "SFSIM_TOKEN": c.security_token,
    }
