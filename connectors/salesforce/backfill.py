"""Backfill: the records that existed before the subscription, as SNAPSHOT changes.

Small objects are read with REST queryAll, large ones with a Bulk API 2.0 query job. Both run
while the live stream runs: snapshots carry their SystemModstamp as version, so the
order-independent merge downstream keeps whichever of a snapshot and a live change is newer.
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/queries.htm
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from connectors.salesforce.orgapi import OrgApi
from connectors.salesforce.snapshots import row_change
from schemas.changes import ChangeSource, SalesforceChange

BULK_THRESHOLD = 10_000  # rows: above this, one Bulk job costs fewer API calls than REST pages

Progress = Callable[[str, int, int], None]  # object, done, total


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


def rows(api: OrgApi, step: BackfillPlan) -> Iterator[dict[str, Any]]:
    if step.bulk:
        yield from api.bulk_rows(step.obj)
        return
    yield from api.all_rows(step.obj)


def backfill(
    api: OrgApi,
    tenant: str,
    plans: list[BackfillPlan],
    publish: Callable[[SalesforceChange], None],
    progress: Progress,
) -> int:
    """Publish every row of every planned object; returns how many changes were published."""
    published = 0
    for step in plans:
        done = 0
        for row in rows(api, step):
            publish(row_change(tenant, step.obj, row, ChangeSource.BACKFILL))
            done += 1
            if done % 500 == 0:
                progress(step.obj, done, step.total)
        progress(step.obj, done, step.total)
        published += done
    return published
