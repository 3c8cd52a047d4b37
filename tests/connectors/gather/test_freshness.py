"""Freshness per tenant: the newest applied Salesforce commit, moved forward with the rows in
one transaction and never back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from connectors.gather import migrate
from connectors.gather.freshness import newest_commits, read_freshness
from connectors.gather.store import SqlStore
from schemas.versions import Version
from tests.builders import an_upsert

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
T1, T2 = 1_790_000_000_000, 1_790_000_060_000  # two commit times, a minute apart


@pytest.fixture
def store(store_engine: Engine) -> SqlStore:
    migrate.upgrade(store_engine)
    return SqlStore.for_engine(store_engine)


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def test_given_a_batch_of_two_tenants_then_each_gets_its_own_newest_commit() -> None:
    batch = [
        an_upsert(tenant="acme", version=Version(commit_ts=T1)),
        an_upsert(tenant="acme", version=Version(commit_ts=T2)),
        an_upsert(tenant="globex", version=Version(commit_ts=T1)),
    ]

    assert newest_commits(batch) == {"acme": at(T2), "globex": at(T1)}


def test_given_newer_then_older_upserts_when_applied_then_freshness_never_moves_back(
    store: SqlStore,
) -> None:
    store.apply([an_upsert(tenant="acme", version=Version(commit_ts=T2))], NOW)
    store.apply([an_upsert(tenant="acme", version=Version(commit_ts=T1))], NOW)
    store.apply([an_upsert(tenant="globex", version=Version(commit_ts=T1))], NOW)

    assert read_freshness(store.engine) == {"acme": at(T2), "globex": at(T1)}
