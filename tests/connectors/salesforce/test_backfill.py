"""Backfill racing the live stream: merged in any order, sf.changes converges to the org."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.kafka_io import SyncPublisher
from connectors.kafka.settings import KafkaSettings
from connectors.salesforce import backfill as engine
from connectors.salesforce.auth import authenticator_for, http_session
from connectors.salesforce.classifier import Decision
from connectors.salesforce.errors import SalesforceApiError
from connectors.salesforce.orgapi import OrgApi
from connectors.salesforce.snapshots import cdc_form, row_change
from schemas.changes import ChangeSource, ChangeType
from schemas.contract import Topics
from sfsim.testing import ThreadedSfsim
from streams.merge import merge_all
from tests.connectors.salesforce.builders import a_tenant, sfsim_environ
from tests.connectors.salesforce.harness import (
    ChangesReader,
    ListenerThread,
    Traffic,
    apply_configs,
    listener_settings,
    tenants_topic,
    unique,
    wait_until,
)


def org_records(org: ThreadedSfsim, obj: str) -> dict[str, dict[str, Any]]:
    return org.call(lambda: {i: dict(r) for i, r in org.state.org.records[obj].items()})


def test_given_a_backfill_during_live_traffic_then_the_merged_changes_equal_the_org(
    kafka_settings: KafkaSettings,
    tmp_path: Path,
) -> None:
    reader = ChangesReader(kafka_settings)
    with ThreadedSfsim(tmp_path / "tls", accounts=150, poll_timeout_ms=2_000) as org:
        topic, tenant = tenants_topic(kafka_settings), unique("backfill")
        config = a_tenant(org, tenant)
        apply_configs(kafka_settings, topic, [config])
        with ListenerThread(listener_settings(topic, org), kafka_settings, sfsim_environ(org)):
            assert wait_until(lambda: org.admin("state")["cometd_polling"] >= 1)
            traffic = Traffic(org, changes=5, pause=0.02).start()
            session = http_session(org.credentials.ca)
            api = OrgApi(
                authenticator_for(config.salesforce, sfsim_environ(org), session),
                session,
                "61.0",
                sleep=time.sleep,
            )
            publisher = SyncPublisher(kafka_settings.producer_config())
            plans = engine.plan(api, ["Account", "Contact"], bulk_threshold=250)  # Contact via Bulk
            count = engine.backfill(
                api,
                tenant,
                plans,
                lambda key, value: publisher.send(Topics.of(kafka_settings).sf_changes, key, value),
                lambda *_: None,
            )
            assert publisher.close() == 0 and not publisher.failed
            traffic.stop()
            final = {obj: org_records(org, obj) for obj in ("Account", "Contact")}
            last = org.call(lambda: org.state.log.last_replay_id)
            assert wait_until(lambda: _delivered(org, last), timeout=60)
            time.sleep(2)
            reader.poll_for(5)
    changes = reader.changes(tenant)
    reader.close()

    states = merge_all(changes)
    assert count >= 150 and any(c.source is ChangeSource.BACKFILL for c in changes)
    assert {p.obj: p.bulk for p in plans} == {"Account": False, "Contact": True}
    mismatches: list[tuple[str, object]] = []
    compared = 0
    for obj, records in final.items():
        for record_id, record in records.items():
            state = states.get(f"{tenant}:{obj}:{record_id}")
            if state is None:
                mismatches.append((record_id, "missing"))
                continue
            if state.is_deleted != record["IsDeleted"]:
                mismatches.append((record_id, "deleted mark"))
            shared = {k: v for k, v in state.values().items() if k in record}
            compared += len(shared)
            wrong = {k for k, v in shared.items() if cdc_form(record[k]) != v}
            if wrong:
                mismatches.append((record_id, sorted(wrong)))
    assert mismatches == []
    assert compared > 5_000  # every field of every record, not a vacuous comparison


def _delivered(org: ThreadedSfsim, last: int) -> bool:
    return bool(org.admin("state")["last_replay_id"] >= last)


def test_given_a_rest_row_then_its_datetimes_take_the_change_event_form() -> None:
    row = {
        "Id": "001Dn0000000001IAA",
        "IsDeleted": False,
        "SystemModstamp": "2026-11-28T12:00:00.000+0000",
        "LastModifiedDate": "2026-11-28T12:00:00.000+0000",
        "Name": "Acme",
        "BillingAddress": {"city": "Paris"},
        "attributes": {"type": "Account"},
    }

    change = row_change("acme", "Account", row, ChangeSource.BACKFILL)

    assert change.change_type is ChangeType.SNAPSHOT
    assert change.fields == {
        "SystemModstamp": "2026-11-28T12:00:00.000Z",
        "LastModifiedDate": "2026-11-28T12:00:00.000Z",
        "Name": "Acme",
    }
    assert change.version.commit_ts == 1_795_867_200_000


def test_given_faults_between_bulk_pages_then_each_page_is_retried_and_every_row_read_once(
    sfsim: ThreadedSfsim,
) -> None:
    slept: list[float] = []
    session = http_session(sfsim.credentials.ca)
    auth = authenticator_for(a_tenant(sfsim).salesforce, sfsim_environ(sfsim), session)
    api = OrgApi(auth, session, "61.0", sleep=slept.append)
    pages = engine.bulk_pages(api, "Account", page_size=7, poll=0)
    first = next(pages)

    sfsim.admin("expire-sessions")  # the next page needs a new login ...
    sfsim.admin("faults", {"busy": 2})  # ... and then two tries more
    rest = list(pages)

    ids = [r["Id"] for page in (first, *rest) for r in csv.DictReader(io.StringIO(page))]
    assert len(rest) >= 2  # more than one page after the faults: a small page size
    assert sorted(ids) == sorted(org_records(sfsim, "Account"))
    assert [s for s in slept if s] == [1.0, 2.0]  # attempts 1 and 2 (0 was the re-login)


def test_given_an_error_while_reading_ahead_then_the_reader_gets_it_after_the_items_before() -> (
    None
):
    def pages() -> Iterator[str]:
        yield "page 1"
        raise SalesforceApiError("gave up", Decision.RETRY)

    read = engine.read_ahead(pages())

    assert next(read) == "page 1"
    with pytest.raises(SalesforceApiError, match="gave up"):
        next(read)


def test_given_a_reader_that_stops_early_then_reading_ahead_stops_too() -> None:
    made: list[int] = []

    def items() -> Iterator[int]:
        for n in range(1_000):
            made.append(n)
            yield n

    read = engine.read_ahead(items(), depth=1)
    assert next(read) == 0
    read.close()

    time.sleep(1.5)  # the thread sees the stop within its 0.5 s wait
    assert len(made) <= 3  # one handed over, one waiting in the queue, one made: no more
