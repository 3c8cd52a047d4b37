"""The sink's failure classifier: the database's faults are retried, a message's are
dead-lettered. A table of the drivers' own exception objects, then the same faults caused for
real on PostgreSQL and SQLite."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, exc, insert, text

from connectors.backoff import backoff
from connectors.gather import migrate
from connectors.gather.failures import Failure, Verdict, classify
from connectors.gather.schema import records
from tests.connectors.gather.pgfaults import terminate_waiting

T, B = Failure.TRANSIENT, Failure.BAD_MESSAGE


def pg(code: str, message: str = "from the server") -> psycopg.Error:
    error: psycopg.Error = psycopg.errors.lookup(code)(message)
    return error


def wrapped(orig: BaseException, invalidated: bool = False) -> exc.DBAPIError:
    """As SQLAlchemy raises a driver's error: the wrapper class picked for the driver's class."""
    base = psycopg.Error if isinstance(orig, psycopg.Error) else sqlite3.Error
    error = exc.DBAPIError.instance("SELECT 1", {}, orig, base, connection_invalidated=invalidated)
    assert isinstance(error, exc.DBAPIError)
    return error


def statement_error(orig: Exception) -> exc.StatementError:
    return exc.StatementError("could not bind", "INSERT ...", {}, orig)


CASES: list[tuple[str, BaseException, Failure, str]] = [
    # --- the database is down, slow or busy: retried --------------------------------------
    ("backend terminated", wrapped(pg("57P01"), invalidated=True), T, "connection_lost"),
    ("server restarting", wrapped(pg("57P03")), T, "server_shutdown"),
    ("deadlock", wrapped(pg("40P01")), T, "deadlock"),
    ("serialization failure", wrapped(pg("40001")), T, "serialization"),
    ("lock timeout", wrapped(pg("55P03")), T, "lock_timeout"),
    ("statement timeout", wrapped(pg("57014")), T, "timeout"),
    ("connection failure (08006)", wrapped(pg("08006")), T, "connection"),
    ("too many connections", wrapped(pg("53300")), T, "server_resources"),
    ("server I/O error", wrapped(pg("58030")), T, "server_io"),
    ("store not migrated", wrapped(pg("42P01")), T, "store_not_ready"),
    ("no grant", wrapped(pg("42501")), T, "store_not_ready"),
    (
        "connection refused",
        wrapped(psycopg.OperationalError("connection failed: Connection refused")),
        T,
        "connection",
    ),
    (
        "server closed the connection",
        psycopg.OperationalError("server closed the connection unexpectedly"),
        T,
        "connection",
    ),
    (
        "connection closed",
        wrapped(psycopg.InterfaceError("the connection is closed")),
        T,
        "connection",
    ),
    (
        "pool exhausted",
        exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
        T,
        "connection",
    ),
    ("dead at checkout", exc.DisconnectionError("connection closed"), T, "connection"),
    ("socket refused", ConnectionRefusedError(111, "Connection refused"), T, "connection"),
    ("sqlite locked", wrapped(sqlite3.OperationalError("database is locked")), T, "locked"),
    ("sqlite table locked", sqlite3.OperationalError("database table is locked"), T, "locked"),
    (
        "sqlite not migrated",
        wrapped(sqlite3.OperationalError("no such table: records")),
        T,
        "store_not_ready",
    ),
    ("sqlite disk", wrapped(sqlite3.OperationalError("disk I/O error")), T, "server_io"),
    # --- the message's own fault: dead-lettered -------------------------------------------
    ("model not saved (FK)", wrapped(pg("23503")), B, "refused"),
    ("value too long", wrapped(pg("22001")), B, "refused"),
    ("NUL in JSON", wrapped(pg("22P05")), B, "refused"),
    ("index row too large", wrapped(pg("54000")), B, "refused"),
    ("not null", wrapped(pg("23502")), B, "refused"),
    (
        "sqlite FK",
        wrapped(sqlite3.IntegrityError("FOREIGN KEY constraint failed")),
        B,
        "refused",
    ),
    ("sqlite bad JSON", wrapped(sqlite3.OperationalError("malformed JSON")), B, "refused"),
    ("client-side adaptation", psycopg.DataError("cannot dump NaN"), B, "refused"),
    ("unbindable value", statement_error(TypeError("not JSON serializable")), B, "unexpected"),
    ("date out of range", ValueError("year 30489 is out of range"), B, "unexpected"),
    ("a key the code assumed", KeyError("name"), B, "unexpected"),
]


@pytest.mark.parametrize(
    ("error", "failure", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_given_a_failure_then_it_is_classified_as_the_table_says(
    error: BaseException, failure: Failure, reason: str
) -> None:
    assert classify(error) == Verdict(failure, reason)


# --- the same faults, caused for real -------------------------------------------------------


def test_given_a_backend_terminated_mid_statement_then_it_is_transient(
    postgres_engine: Engine,
) -> None:
    with postgres_engine.begin() as db:
        db.execute(text("CREATE TABLE probe (x int)"))
    with postgres_engine.connect() as locker, locker.begin():
        locker.execute(text("LOCK TABLE probe IN ACCESS EXCLUSIVE MODE"))
        failed = _in_thread(lambda: _read_probe(postgres_engine))
        assert terminate_waiting(postgres_engine)
        error = failed.result()

    assert classify(error) == Verdict(T, "connection_lost")


def test_given_a_lock_held_past_lock_timeout_then_it_is_transient(postgres_engine: Engine) -> None:
    with postgres_engine.begin() as db:
        db.execute(text("CREATE TABLE probe (x int)"))
    with postgres_engine.connect() as locker, locker.begin():
        locker.execute(text("LOCK TABLE probe IN ACCESS EXCLUSIVE MODE"))
        with pytest.raises(exc.OperationalError) as raised, postgres_engine.begin() as db:
            db.execute(text("SET LOCAL lock_timeout = '50ms'"))
            db.execute(text("SELECT * FROM probe"))

    assert classify(raised.value) == Verdict(T, "lock_timeout")


def test_given_sqlite_held_by_another_writer_then_it_is_transient(tmp_path: Path) -> None:
    holder = sqlite3.connect(tmp_path / "gather.db", isolation_level=None)
    holder.execute("CREATE TABLE probe (x int)")
    holder.execute("BEGIN IMMEDIATE")
    impatient = create_engine(f"sqlite:///{tmp_path}/gather.db", connect_args={"timeout": 0})
    try:
        with pytest.raises(exc.OperationalError) as raised, impatient.begin() as db:
            db.execute(text("INSERT INTO probe VALUES (1)"))
    finally:
        holder.close()
        impatient.dispose()

    assert classify(raised.value) == Verdict(T, "locked")


def test_given_a_record_of_a_model_not_saved_then_the_store_refusal_is_the_messages_fault(
    store_engine: Engine,
) -> None:
    migrate.upgrade(store_engine)
    with pytest.raises(exc.IntegrityError) as raised, store_engine.begin() as db:
        db.execute(insert(records).values(tenant="acme", model="nowhere", id="r-1"))

    assert classify(raised.value) == Verdict(B, "refused")


class _Outcome:
    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.done = threading.Event()

    def result(self) -> BaseException:
        assert self.done.wait(30), "the blocked statement never ended"
        assert self.error is not None, "the blocked statement did not fail"
        return self.error


def _in_thread(work: Callable[[], None]) -> _Outcome:
    outcome = _Outcome()

    def run() -> None:
        try:
            work()
        except Exception as e:  # the error under test, handed to the test's thread
            outcome.error = e
        outcome.done.set()

    threading.Thread(target=run, daemon=True).start()
    return outcome


def _read_probe(engine: Engine) -> None:
    with engine.begin() as db:
        db.execute(text("SELECT * FROM probe"))


# --- the wait between retries ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected"),
    [(1, 0.0, 0.25), (1, 0.5, 0.375), (2, 0.0, 0.5), (3, 0.0, 1.0), (7, 0.0, 15.0), (8, 0.0, 15.0)],
)
def test_given_an_attempt_then_the_wait_doubles_from_base_to_the_cap(
    attempt: int, jitter: float, expected: float
) -> None:
    assert backoff(attempt, base=0.5, cap=30.0, jitter=jitter) == expected


@given(st.integers(1, 10_000), st.integers(1, 10_000), st.floats(0, 1, exclude_max=True))
def test_given_any_attempts_then_waits_grow_never_pass_the_cap_and_never_vanish(
    attempt: int, later: int, jitter: float
) -> None:
    first, second = sorted((attempt, later))

    wait = backoff(first, base=0.5, cap=30.0, jitter=jitter)

    assert 0.25 <= wait <= 30.0
    assert wait <= backoff(second, base=0.5, cap=30.0, jitter=jitter)
