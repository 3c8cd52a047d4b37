"""Session-wide fixtures: the real Kafka broker and PostgreSQL, and a fresh database per test."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from _pytest.terminal import TerminalReporter
from confluent_kafka.admin import AdminClient
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from connectors.gather.engine import make_engine
from connectors.kafka.settings import KafkaSettings
from sfsim.testing import ThreadedSfsim
from tests.support.services import ServiceUnavailable, kafka_bootstrap_servers, postgres_url

_ran_by_marker: Counter[str] = Counter()


@pytest.fixture(scope="session")
def kafka_settings() -> Iterator[KafkaSettings]:
    """The real broker; the topics the session created are deleted at its end."""
    try:
        servers = kafka_bootstrap_servers()
        admin = AdminClient({"bootstrap.servers": servers})
        before = set(admin.list_topics(timeout=30).topics)
    except (ServiceUnavailable, Exception) as e:  # a missing broker fails the run, never skips
        pytest.fail(f"the real Kafka broker is needed and could not be reached: {e}", pytrace=False)
    yield KafkaSettings(bootstrap_servers=servers, partitions=3)
    _delete_new_topics(admin, before)


def _delete_new_topics(admin: AdminClient, before: set[str]) -> None:
    """Each test makes topics of its own; left behind, a day of runs left 6,591 topics and
    17,988 partitions on the local broker, which then stopped with "Too many open files"."""
    made = set(admin.list_topics(timeout=30).topics) - before
    made = {t for t in made if not t.startswith("__")}  # the broker's own
    if made:
        for future in admin.delete_topics(sorted(made), operation_timeout=60).values():
            future.exception(60)  # a topic already gone is no matter


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    try:
        url = postgres_url()
        with psycopg.connect(_libpq(url), connect_timeout=30):
            pass
    except (ServiceUnavailable, psycopg.Error) as e:
        pytest.fail(f"the real PostgreSQL is needed and could not be reached: {e}", pytrace=False)
    return url


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def postgres_engine(postgres_admin_url: str) -> Iterator[Engine]:
    """An empty database of its own for one test, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(postgres_admin_url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(make_url(postgres_admin_url).set(database=name).render_as_string(False))
    yield engine
    engine.dispose()
    with psycopg.connect(_libpq(postgres_admin_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path}/gather.db")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_engine(request: pytest.FixtureRequest) -> Engine:
    """Each store test runs on both databases."""
    name = "postgres_engine" if request.param == "postgresql" else "sqlite_engine"
    engine: Engine = request.getfixturevalue(name)
    return engine


@pytest.fixture(scope="module")
def sfsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedSfsim]:
    """A local Salesforce org over HTTPS (in a thread) per test module, seeded with 20 accounts."""
    with ThreadedSfsim(
        tmp_path_factory.mktemp("sfsim"), accounts=20, poll_timeout_ms=2_000
    ) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_sfsim_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sfsim" in request.fixturenames:
        server: ThreadedSfsim = request.getfixturevalue("sfsim")
        server.admin(
            "faults",
            {
                "busy": 0,
                "request_limit_exceeded": False,
                "paused": False,
                "event_allocation_exceeded": False,
                "drop_connects": 0,
                "invalid_replay": False,
                "gap_events": False,
                "outage": False,
                "slow_seconds": 0,
            },
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test by the real services it uses, so the summary can count them."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "kafka_settings" in names:
            item.add_marker(pytest.mark.real_kafka)
        if "postgres_admin_url" in names or params.get("store_engine") == "postgresql":
            item.add_marker(pytest.mark.real_postgres)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        for marker in ("real_kafka", "real_postgres"):
            if marker in report.keywords:
                _ran_by_marker[marker] += 1


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    ran = ", ".join(
        f"{marker}: {_ran_by_marker[marker]} passed" for marker in ("real_kafka", "real_postgres")
    )
    terminalreporter.write_line(f"tests against the real services: {ran}")
