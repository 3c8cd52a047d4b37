"""Two sinks writing a user and its account at the same time still link them, on PostgreSQL.

Each transaction is made to linger at commit (a deferred trigger that sleeps), so both link
passes run before either commits: under READ COMMITTED neither sees the other's row, which is
the race two sink replicas hit when a user and its account land in concurrent batches."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import Engine, select, text

from connectors.gather import migrate
from connectors.gather.schema import users
from connectors.gather.store import SqlStore
from schemas.gather import EntityKind
from schemas.versions import Version
from tests.builders import an_upsert

NOW = datetime(2026, 11, 30, tzinfo=UTC)
ACCOUNT_SF, CONTACT_SF = "001000000000007AAA", "003000000000007AAA"
SLOW_COMMIT = """
CREATE FUNCTION slow_commit() RETURNS trigger AS $$
BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER slow_users AFTER INSERT OR UPDATE ON users
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();
CREATE CONSTRAINT TRIGGER slow_accounts AFTER INSERT OR UPDATE ON accounts
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();
"""


def test_given_two_sinks_writing_a_user_and_its_account_at_once_then_the_user_is_linked(
    postgres_engine: Engine,
) -> None:
    migrate.upgrade(postgres_engine)
    with postgres_engine.begin() as db:
        db.execute(text(SLOW_COMMIT))
    version = Version(commit_ts=1_767_225_600_000)
    user = an_upsert(
        kind=EntityKind.USER,
        sf_id=CONTACT_SF,
        gather_id="grace@example.com",
        version=version,
        account_sf_id=ACCOUNT_SF,
        account_version=version,
    )
    account = an_upsert(sf_id=ACCOUNT_SF, gather_id="A-7", version=version)
    sinks = [SqlStore.for_engine(postgres_engine) for _ in range(2)]
    writes = [
        threading.Thread(target=sink.apply, args=([upsert], NOW))
        for sink, upsert in zip(sinks, (user, account), strict=True)
    ]

    for write in writes:
        write.start()
    for write in writes:
        write.join(timeout=30)

    with postgres_engine.connect() as db:
        linked = db.execute(select(users.c.account_id)).scalar_one()
    assert linked == "A-7"
