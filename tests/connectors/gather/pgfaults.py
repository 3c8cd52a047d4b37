"""Real PostgreSQL faults for tests: a backend waiting on a lock, terminated from outside."""

from __future__ import annotations

import time

from sqlalchemy import Engine, text


def terminate_waiting(engine: Engine, timeout: float = 10.0) -> bool:
    """End the backends of the engine's database that wait on a lock, once one does (as an
    operator's pg_terminate_backend or a server restart ends them)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as admin:
        while time.monotonic() < deadline:
            ended = admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock' "
                    "AND pid <> pg_backend_pid()"
                )
            ).all()
            admin.rollback()  # a fresh snapshot of pg_stat_activity on the next look
            if ended:
                return True
            time.sleep(0.05)
    return False
