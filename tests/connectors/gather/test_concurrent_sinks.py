"""Two sinks writing overlapping batches at once never move a trait back, on PostgreSQL.

The store reads a batch's rows once and writes them once (set-based); these tests hold it to
the monotonic write of docs/architecture.md when another sink writes the same rows in between.
The oracle is a few lines of its own: per key and trait, the value of the highest version."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, text

from connectors.gather import migrate
from connectors.gather.failures import classify
from connectors.gather.schema import users
from connectors.gather.store import SqlStore
from schemas.gather import EntityKind, GatherUpsert
from schemas.versions import Version
from tests.builders import an_upsert

NOW = datetime(2026, 11, 30, tzinfo=UTC)
SLOW_USER_COMMIT = """
CREATE FUNCTION slow_commit() RETURNS trigger AS $$
BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER slow_users AFTER INSERT ON users
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();
"""


def a_user(traits: dict[str, str], ts: int, **kw: Any) -> GatherUpsert:
    ids = {"sf_id": "003000000000001AAA", "gather_id": "ada@example.com"} | kw
    return an_upsert(kind=EntityKind.USER, traits=traits, version=Version(commit_ts=ts), **ids)


def test_given_a_row_another_sink_inserts_meanwhile_then_both_sinks_traits_are_kept(
    postgres_engine: Engine,
) -> None:
    migrate.upgrade(postgres_engine)
    with postgres_engine.begin() as db:
        db.execute(text(SLOW_USER_COMMIT))  # the first insert lingers 1 s before its commit
    first = threading.Thread(
        target=SqlStore.for_engine(postgres_engine).apply, args=([a_user({"name": "Ada"}, 1)], NOW)
    )
    first.start()
    time.sleep(0.3)  # the second reads before the first commits: the row is not there yet

    SqlStore.for_engine(postgres_engine).apply([a_user({"phone": "555"}, 1)], NOW)
    first.join(timeout=30)

    with postgres_engine.connect() as db:
        traits = db.execute(select(users.c.traits)).scalar_one()
    assert traits == {"name": "Ada", "phone": "555"}


# --- many overlapping batches from two sinks --------------------------------------------------

KEYS = 12
SLOW_WRITES = """
CREATE FUNCTION pause() RETURNS trigger AS $$
BEGIN PERFORM pg_sleep(0.02); RETURN NULL; END $$ LANGUAGE plpgsql;
CREATE TRIGGER slow_users BEFORE INSERT OR UPDATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION pause();
"""
TRAITS = ("name", "phone", "city")


def random_batches(seed: int, count: int, size: int) -> list[list[GatherUpsert]]:
    """User upserts over a few keys, each (key, trait) version unique. Users without an account
    take no link lock (accounts and their users' batches are serialized by it, see
    test_link_race): only the rows' own locks keep these batches apart."""
    rnd = random.Random(seed)
    stamps = iter(rnd.sample(range(1, 10_000_000), count * size))
    batches = []
    for _ in range(count):
        batch = []
        for _ in range(size):
            n, ts = rnd.randrange(KEYS), next(stamps)
            traits = {t: f"{t}-{ts}" for t in rnd.sample(TRAITS, 2)}
            batch.append(a_user(traits, ts, sf_id=f"003{n:015d}", gather_id=f"u{n}@x.example"))
        batches.append(batch)
    return batches


def expected(batches: list[list[GatherUpsert]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The oracle: each row's traits at their highest version."""
    best: dict[tuple[str, str], dict[str, tuple[int, Any]]] = {}
    for upsert in (u for batch in batches for u in batch):
        row = best.setdefault((upsert.kind.value, upsert.gather_id or ""), {})
        for trait, value in upsert.traits.items():
            stamp = upsert.trait_versions[trait].commit_ts
            if stamp > row.get(trait, (0, ""))[0]:
                row[trait] = (stamp, value)
    return {key: {t: v for t, (_, v) in row.items()} for key, row in best.items()}


def stored(engine: Engine) -> dict[tuple[str, str], dict[str, str]]:
    with engine.connect() as db:
        return {("user", i): t for i, t in db.execute(select(users.c.id, users.c.traits))}


def retried(work: Callable[[], object], retries: list[str]) -> None:
    """As the sink does: a transient failure (a deadlock, say) retries the whole batch."""
    while True:
        try:
            work()
            return
        except Exception as e:
            verdict = classify(e)
            if not verdict.transient:
                raise
            retries.append(verdict.reason)


def test_given_two_sinks_writing_overlapping_batches_then_every_trait_is_its_newest(
    postgres_engine: Engine,
) -> None:
    migrate.upgrade(postgres_engine)
    with postgres_engine.begin() as db:
        db.execute(text(SLOW_WRITES))  # a write lags its read: room for the other sink
    batches = random_batches(seed=7, count=30, size=20)
    retries: list[str] = []
    failures: list[BaseException] = []

    def sink(mine: list[list[GatherUpsert]]) -> None:
        store = SqlStore.for_engine(postgres_engine)
        try:
            for batch in mine:
                retried(lambda b=batch: store.apply(b, NOW), retries)  # type: ignore[misc]
        except BaseException as e:  # reported by the assertion below
            failures.append(e)

    # each sink its own batches over the same rows: a write one sink loses is never repaired
    orders = [batches[0::2], batches[1::2]]
    threads = [threading.Thread(target=sink, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures
    assert stored(postgres_engine) == expected(batches)
    assert set(retries) <= {"deadlock", "serialization"}, retries
