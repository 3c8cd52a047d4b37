"""The sink's store on PostgreSQL and SQLite: idempotent, monotonic upserts; update-existing
matching; deletes and revivals by version; users linked to accounts whichever comes first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, select

from connectors.gather import migrate
from connectors.gather.schema import accounts, users
from connectors.gather.store import SqlStore
from schemas.gather import DeleteReason, EntityKind, GatherUpsert, Operation, Target
from schemas.versions import Version
from tests.builders import an_upsert

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
ACCOUNT_SF = "001000000000001AAA"  # the builder's default sf_id


@pytest.fixture
def store(store_engine: Engine) -> SqlStore:
    migrate.upgrade(store_engine)
    return SqlStore.for_engine(store_engine)


def v(ts: int) -> Version:
    return Version(commit_ts=ts)


def rows(store: SqlStore, table: Any = accounts) -> list[dict[str, Any]]:
    with store.engine.connect() as db:
        found = db.execute(select(table).order_by(table.c.tenant, table.c.id)).mappings().all()
    keys = ("tenant", "id", "sf_id", "traits", "deleted", "deleted_reason")
    return [{k: r[k] for k in keys} for r in found]


def named(name: str, ts: int, **kw: Any) -> GatherUpsert:
    traits = kw.pop("traits", {"name": name})
    return an_upsert(version=v(ts), traits=traits, **kw)


def test_given_an_upsert_applied_twice_then_one_row_holds_it(store: SqlStore) -> None:
    store.apply([named("Acme", 1)], NOW)
    store.apply([named("Acme", 1)], NOW)

    assert rows(store) == [
        {
            "tenant": "acme",
            "id": "acct-1",
            "sf_id": ACCOUNT_SF,
            "traits": {"name": "Acme"},
            "deleted": False,
            "deleted_reason": None,
        }
    ]


def test_given_an_older_upsert_after_a_newer_one_then_nothing_moves_back(store: SqlStore) -> None:
    store.apply([named("New", 5)], NOW)
    store.apply([named("Old", 2)], NOW)

    assert rows(store)[0]["traits"] == {"name": "New"}


def test_given_traits_of_different_ages_then_each_keeps_its_newest(store: SqlStore) -> None:
    store.apply(
        [
            an_upsert(
                version=v(5),
                traits={"name": "N5", "phone": "p5"},
                trait_versions={"name": v(5), "phone": v(1)},
            )
        ],
        NOW,
    )
    store.apply(
        [
            an_upsert(
                version=v(3),
                traits={"name": "N3", "phone": "p3"},
                trait_versions={"name": v(3), "phone": v(3)},
            )
        ],
        NOW,
    )

    assert rows(store)[0]["traits"] == {"name": "N5", "phone": "p3"}


def test_given_a_delete_then_an_older_upsert_then_the_row_stays_deleted_until_revived(
    store: SqlStore,
) -> None:
    store.apply([named("Acme", 1), named("Acme", 4, op=Operation.DELETE, traits={})], NOW)
    store.apply([named("Acme", 3)], NOW)
    still = rows(store)[0]["deleted"]
    store.apply([named("Acme", 6)], NOW)

    assert still is True and rows(store)[0]["deleted"] is False


def gone(ts: int, reason: DeleteReason | None) -> GatherUpsert:
    return named("", ts, op=Operation.DELETE, traits={}, delete_reason=reason)


def liveness(store: SqlStore) -> tuple[bool, str | None]:
    row = rows(store)[0]
    return row["deleted"], row["deleted_reason"]


def test_given_a_delete_whose_id_changed_then_the_row_is_deleted_with_reason_id_changed(
    store: SqlStore,
) -> None:
    store.apply([named("Acme", 1)], NOW)

    store.apply([gone(2, DeleteReason.ID_CHANGED)], NOW)

    assert liveness(store) == (True, "id_changed")


def test_given_a_row_deleted_as_id_changed_when_a_newer_upsert_comes_then_it_lives_unmarked(
    store: SqlStore,
) -> None:
    store.apply([named("Acme", 1), gone(2, DeleteReason.ID_CHANGED)], NOW)

    store.apply([named("Acme", 3)], NOW)

    assert liveness(store) == (False, None)


@pytest.mark.parametrize("reason", [None, DeleteReason.DELETED])
def test_given_a_delete_with_no_reason_or_deleted_then_the_reason_is_deleted(
    store: SqlStore, reason: DeleteReason | None
) -> None:
    store.apply([named("Acme", 1), gone(2, reason)], NOW)

    assert liveness(store) == (True, "deleted")


@pytest.mark.parametrize("ids_first", [True, False])
def test_given_two_deletes_of_one_version_in_either_order_then_deleted_is_the_reason(
    store: SqlStore, ids_first: bool
) -> None:
    pair = [gone(2, DeleteReason.ID_CHANGED), gone(2, DeleteReason.DELETED)]

    for upsert in pair if ids_first else pair[::-1]:
        store.apply([upsert], NOW)

    assert liveness(store) == (True, "deleted")


def test_given_update_existing_then_the_row_with_the_trait_is_updated_and_none_created(
    store: SqlStore,
) -> None:
    with store.engine.begin() as db:
        db.execute(
            insert(accounts).values(tenant="acme", id="g-9", traits={"salesforce_id": ACCOUNT_SF})
        )
    match = named("Matched", 2, target=Target.MATCH, gather_id=None, match_trait="salesforce_id")
    stray = named(
        "Nobody",
        2,
        target=Target.MATCH,
        gather_id=None,
        match_trait="salesforce_id",
        sf_id="001Dn0000000009IAA",
    )

    result = store.apply([match, stray], NOW)

    assert result.unmatched == {("acme", "Account"): 1} and result.written == 1
    assert rows(store) == [
        {
            "tenant": "acme",
            "id": "g-9",
            "sf_id": ACCOUNT_SF,
            "deleted": False,
            "deleted_reason": None,
            "traits": {"salesforce_id": ACCOUNT_SF, "name": "Matched"},
        }
    ]


def user(ts: int, account: str | None = ACCOUNT_SF, **kw: Any) -> GatherUpsert:
    return an_upsert(
        kind=EntityKind.USER,
        sf_id="003Dn0000000001IAA",
        gather_id="ada@example.com",
        version=v(ts),
        traits={"email": "ada@example.com"},
        account_sf_id=account,
        account_version=v(ts),
        **kw,
    )


def links(store: SqlStore) -> list[tuple[str, str | None]]:
    with store.engine.connect() as db:
        return [(r.id, r.account_id) for r in db.execute(select(users.c.id, users.c.account_id))]


@pytest.mark.parametrize("user_first", [True, False])
def test_given_a_user_and_its_account_in_either_order_then_the_user_is_linked(
    store: SqlStore,
    user_first: bool,
) -> None:
    batches = [[user(1)], [named("Acme", 1)]]

    for batch in batches if user_first else batches[::-1]:
        store.apply(batch, NOW)

    assert links(store) == [("ada@example.com", "acct-1")]


def test_given_a_user_moved_off_its_account_then_the_link_is_cleared(store: SqlStore) -> None:
    store.apply([named("Acme", 1), user(1)], NOW)
    store.apply([user(2, account=None)], NOW)

    assert links(store) == [("ada@example.com", None)]


def test_given_two_tenants_users_and_accounts_with_the_same_ids_in_one_batch_then_each_links_its_own(
    store: SqlStore,
) -> None:
    batch = [
        named("Acme", 1, gather_id="A-acme"),
        named("Globex", 1, tenant="globex", gather_id="A-globex"),
        user(1),
        user(1, tenant="globex"),
    ]

    store.apply(batch, NOW)

    with store.engine.connect() as db:
        found = db.execute(select(users.c.tenant, users.c.account_id).order_by(users.c.tenant))
        assert found.all() == [("acme", "A-acme"), ("globex", "A-globex")]


def test_given_two_tenants_with_colliding_ids_then_rows_never_mix(store: SqlStore) -> None:
    store.apply([named("Acme", 1), named("Globex", 1, tenant="globex")], NOW)

    assert [(r["tenant"], r["traits"]["name"]) for r in rows(store)] == [
        ("acme", "Acme"),
        ("globex", "Globex"),
    ]


# --- properties (SQLite for speed; the examples above run on both) ---------------------------

upserts = st.builds(
    lambda ts, op, name, phone, reason: an_upsert(
        version=v(ts),
        op=op,
        traits={} if op is Operation.DELETE else {"name": name, "phone": phone},
        trait_versions={} if op is Operation.DELETE else {"name": v(ts), "phone": v(ts % 3)},
        delete_reason=reason if op is Operation.DELETE else None,
    ),
    st.integers(1, 6),
    st.sampled_from([Operation.UPSERT, Operation.DELETE]),
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(["1", "2"]),
    st.sampled_from([None, DeleteReason.DELETED, DeleteReason.ID_CHANGED]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(upserts, min_size=1, max_size=8), st.randoms())
def test_given_any_order_and_replays_then_the_row_is_the_same(
    sqlite_engine: Engine,
    batch: list[GatherUpsert],
    rnd: Any,
) -> None:
    migrate.upgrade(sqlite_engine)
    store = SqlStore.for_engine(sqlite_engine)
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    with sqlite_engine.begin() as db:
        db.execute(delete(accounts))  # the engine lives across examples: start empty

    store.apply(batch, NOW)
    first = rows(store)
    with sqlite_engine.begin() as db:
        db.execute(delete(accounts))
    store.apply(shuffled + batch, NOW)  # another order, then every upsert again

    assert rows(store) == first
    # a reason exactly while deleted
    assert [r["deleted_reason"] is not None for r in first] == [r["deleted"] for r in first]


def test_given_an_undelete_then_a_deleted_row_lives_with_its_traits_and_no_row_is_created(
    store: SqlStore,
) -> None:
    store.apply([named("Acme", 1), gone(2, DeleteReason.DELETED)], NOW)
    revive = named("", 3, op=Operation.UNDELETE, traits={})

    store.apply([revive, revive.model_copy(update={"gather_id": "never-synced"})], NOW)

    assert [(r["id"], r["traits"], r["deleted"]) for r in rows(store)] == [
        (revive.gather_id, {"name": "Acme"}, False)
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(upserts, st.sampled_from(["acct-1", "acct-2"])), max_size=10))
def test_given_upserts_of_several_rows_then_one_batch_writes_what_one_at_a_time_writes(
    sqlite_engine: Engine, pairs: list[tuple[GatherUpsert, str]]
) -> None:
    migrate.upgrade(sqlite_engine)
    store = SqlStore.for_engine(sqlite_engine)
    batch = [u.model_copy(update={"gather_id": gather_id}) for u, gather_id in pairs]
    with sqlite_engine.begin() as db:
        db.execute(delete(accounts))

    for upsert in batch:
        store.apply([upsert], NOW)  # a row at a time: each read sees the last write
    one_at_a_time = rows(store)
    with sqlite_engine.begin() as db:
        db.execute(delete(accounts))
    store.apply(batch, NOW)  # the set-based path: every row read once, folded, written once

    assert rows(store) == one_at_a_time
