"""Backfill: the records that existed before the subscription, as SNAPSHOT changes.

Small objects are read with REST queryAll, large ones with a Bulk API 2.0 query job. Both run
while the live stream runs: snapshots carry their SystemModstamp as version, so the
order-independent merge downstream keeps whichever of a snapshot and a live change is newer.
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/queries.htm

A Bulk read is where a large backfill spends its time: each CSV page becomes messages without a
model per record (bulk_changes.py), and the next page is read while this one is published (one
page ahead, in a thread), so the org's work and ours overlap.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import Operation

from connectors.salesforce.bulk_changes import page_messages
from connectors.salesforce.orgapi import OrgApi
from connectors.salesforce.snapshots import row_change
from schemas.changes import ChangeSource

BULK_THRESHOLD = 10_000  # rows: above this, one Bulk job costs fewer API calls than REST pages
PAGE_SIZE = 50_000  # rows per Bulk results page (Salesforce's default maxRecords)

Progress = Callable[[str, int, int], None]  # object, done, total
Publish = Callable[[str, bytes], None]  # key, an encoded SalesforceChange (sf.changes)
T = TypeVar("T")


@dataclass(frozen=True)
class BackfillPlan:
    obj: str
    total: int
    bulk: bool


def plan(
    api: OrgApi, objects: Iterable[str], bulk_threshold: int = BULK_THRESHOLD
) -> list[BackfillPlan]:
    plans = []
    for obj in objects:
        total = api.count(obj)
        plans.append(BackfillPlan(obj, total, total > bulk_threshold))
    return plans


def bulk_pages(
    api: OrgApi, obj: str, page_size: int = PAGE_SIZE, poll: float = 1.0
) -> Iterator[str]:
    """A Bulk API 2.0 query of the object's fields: its CSV pages (each with its header), as
    simple-salesforce's `bulk2.query` reads them, but every request is an `api.call` of its own,
    so a page that fails is retried from its locator (after a re-login too) by the retry
    policy, instead of ending the read. `poll`: seconds between the job's state checks."""
    soql = f"SELECT {', '.join(api.field_types(obj))} FROM {obj}"
    job = api.call(lambda sf: _bulk2(sf, obj).create_job(Operation.query, soql))["id"]
    api.call(lambda sf: _bulk2(sf, obj).wait_for_job(job, True, poll))
    locator = ""
    while True:
        page = api.call(_results(obj, job, locator, page_size))
        yield page["records"]
        locator = page["locator"]
        if not locator:
            return


def _results(obj: str, job: str, locator: str, size: int) -> Callable[[Salesforce], Any]:
    return lambda sf: _bulk2(sf, obj).get_query_results(job, locator, size)


def _bulk2(sf: Salesforce, obj: str) -> Any:
    """simple-salesforce's Bulk 2.0 client of one object (create a job, wait, read a page)."""
    return getattr(sf.bulk2, obj)._client


def read_ahead(items: Iterator[T], depth: int = 1) -> Generator[T, None, None]:
    """`items`, made in a thread up to `depth` ahead of the caller (the next Bulk page is
    downloaded while this one is published). An error there is raised here; a caller that
    stops early leaves the thread to end at its next item."""
    slots: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def put(entry: tuple[bool, Any]) -> bool:
        while not stopped.is_set():
            try:
                slots.put(entry, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((False, None))
        except BaseException as e:  # handed to the caller's thread, raised there
            put((False, e))

    threading.Thread(target=pump, name="backfill-read-ahead", daemon=True).start()
    try:
        while True:
            more, item = slots.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stopped.set()


def messages(api: OrgApi, tenant: str, step: BackfillPlan) -> Iterator[tuple[str, bytes]]:
    """The object's rows as `sf.changes` messages (key, encoded change)."""
    if step.bulk:
        types = api.field_types(step.obj)
        for page in read_ahead(bulk_pages(api, step.obj)):
            yield from page_messages(tenant, step.obj, page, types)
        return
    for row in api.all_rows(step.obj):
        change = row_change(tenant, step.obj, row, ChangeSource.BACKFILL)
        yield change.key, change.model_dump_json().encode()


def backfill(
    api: OrgApi,
    tenant: str,
    plans: list[BackfillPlan],
    publish: Publish,
    progress: Progress,
) -> int:
    """Publish every row of every planned object; returns how many changes were published."""
    published = 0
    for step in plans:
        done = 0
        for key, value in messages(api, tenant, step):
            publish(key, value)
            done += 1
            if done % 500 == 0:
                progress(step.obj, done, step.total)
        progress(step.obj, done, step.total)
        published += done
    return published
