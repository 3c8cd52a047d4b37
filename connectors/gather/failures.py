"""Whose fault a failure of the sink is: the database's (retry the batch) or one message's (DLQ).

Pure: `classify` looks only at the exception. A transient failure says the database is down,
slow or busy; the same batch goes through later, so the sink holds its offsets and retries it,
and never dead-letters a valid message because the database blinked. A bad message is one the
database refused for what it holds, or one that broke the code applying it; it goes to the DLQ
and the rest of its batch is written.

PostgreSQL's error codes: https://www.postgresql.org/docs/current/errcodes-appendix.html
SQLite's result codes: https://www.sqlite.org/rescode.html
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import StrEnum

import psycopg
from sqlalchemy import exc as sa_exc


class Failure(StrEnum):
    TRANSIENT = "transient"  # not the message's fault: retry the whole batch, offsets held
    BAD_MESSAGE = "bad_message"  # this message's fault: dead-letter it, write the rest


@dataclass(frozen=True)
class Verdict:
    failure: Failure
    reason: str  # a short fixed label, for logs and the retries metric's `reason`

    @property
    def transient(self) -> bool:
        return self.failure is Failure.TRANSIENT


def _transient(reason: str) -> Verdict:
    return Verdict(Failure.TRANSIENT, reason)


def _bad(reason: str) -> Verdict:
    return Verdict(Failure.BAD_MESSAGE, reason)


# PostgreSQL SQLSTATEs (exact codes first, then classes) that are not a message's fault.
_PG_CODES = {
    # deadlock_detected: two transactions waited on each other and ours was chosen to abort;
    # the same statements succeed once the other finished
    "40P01": "deadlock",
    # serialization_failure: a concurrent transaction changed what ours read; PostgreSQL's
    # documented remedy is to retry the transaction
    "40001": "serialization",
    # lock_not_available: another transaction held the row or table past lock_timeout
    "55P03": "lock_timeout",
    # query_canceled: statement_timeout or a cancel; the store's statements are key lookups and
    # single-row writes, so a timeout means a busy server, not a heavy message
    "57014": "timeout",
    # admin_shutdown, crash_shutdown, cannot_connect_now: the server is stopping, restarting,
    # or ended our backend (pg_terminate_backend); a new connection works once it is back
    "57P01": "server_shutdown",
    "57P02": "server_shutdown",
    "57P03": "server_shutdown",
    # undefined_table, undefined_column, insufficient_privilege: the store is not migrated for
    # this code or lacks grants; every message would fail alike, so dead-lettering would empty
    # the topics into the DLQ. Waiting (each retry logged) lets an operator fix the store.
    "42P01": "store_not_ready",
    "42703": "store_not_ready",
    "42501": "store_not_ready",
}
_PG_CLASSES = {
    # connection_exception: the link to the server failed, whatever the statement was
    "08": "connection",
    # insufficient_resources (too many connections, out of memory, disk full): the server frees up
    "53": "server_resources",
    # system_error (an I/O error on the server): the server's problem, not the row's
    "58": "server_io",
}

# SQLite primary result codes that are not a message's fault.
_SQLITE_CODES = {
    5: "locked",  # SQLITE_BUSY: another connection held the write lock past busy_timeout
    6: "locked",  # SQLITE_LOCKED: a table is locked by another statement of this process
    8: "store_not_ready",  # SQLITE_READONLY: the file is not writable (permissions, mount)
    10: "server_io",  # SQLITE_IOERR: the disk failed a read or write
    13: "server_io",  # SQLITE_FULL: the disk is full
    14: "server_io",  # SQLITE_CANTOPEN: the file cannot be opened (moved, mount gone)
}
# The same, by message, for errors that carry no code (raised before SQLite gave one).
_SQLITE_MESSAGES = {
    "database is locked": "locked",
    "database table is locked": "locked",
    "no such table": "store_not_ready",  # not migrated for this code: as 42P01 above
    "no such column": "store_not_ready",
    "disk i/o error": "server_io",
    "unable to open database file": "server_io",
}


def classify(exc: BaseException) -> Verdict:
    """TRANSIENT (retry the batch) or BAD_MESSAGE (dead-letter the message), with a reason."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        # SQLAlchemy saw the connection die under the statement (server restart, network,
        # pg_terminate_backend); the pool opens a new one for the retry
        return _transient("connection_lost")
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        # no free connection in the pool in time, or one found dead at checkout: load or an outage
        return _transient("connection")
    orig = exc.orig if isinstance(exc, sa_exc.StatementError) and exc.orig else exc
    if isinstance(orig, psycopg.Error):
        return _postgres(orig)
    if isinstance(orig, sqlite3.Error):
        return _sqlite(orig)
    if isinstance(orig, ConnectionError):
        # a socket refused or reset below any driver: the database is unreachable
        return _transient("connection")
    # anything else no database raised: applying this message hit a case the code does not
    # handle; dead-letter it (the reason names the type) so the rest of the batch flows
    return _bad("refused" if isinstance(orig, sa_exc.SQLAlchemyError) else "unexpected")


def _postgres(error: psycopg.Error) -> Verdict:
    code = error.sqlstate
    if code is None:
        # psycopg's own OperationalError/InterfaceError without a server code: connection
        # refused, server closed the connection unexpectedly, the connection is closed
        if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
            return _transient("connection")
        return _bad("refused")  # the driver refused a value before sending it (cannot adapt it)
    if reason := _PG_CODES.get(code) or _PG_CLASSES.get(code[:2]):
        return _transient(reason)
    # the server ran the statement and refused it for what the message holds: an integrity
    # violation (a record of a model not saved), a value too long, an index row too large
    return _bad("refused")


def _sqlite(error: sqlite3.Error) -> Verdict:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None and (reason := _SQLITE_CODES.get(code & 0xFF)):
        return _transient(reason)  # extended codes keep the primary code in their low byte
    text = str(error).lower()
    for fragment, reason in _SQLITE_MESSAGES.items():
        if text.startswith(fragment):
            return _transient(reason)
    # a constraint (a record of a model not saved), a value SQLite cannot take
    return _bad("refused")
