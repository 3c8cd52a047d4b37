"""REST/Bulk rows -> `sf.changes` messages (pure): the full current state of a record as a
SNAPSHOT versioned by its SystemModstamp, or a DELETE when the row is in the Recycle Bin.

A snapshot's version is (SystemModstamp, 0, 0): it loses a tie to the CDC event of the same
commit, which carries the same values, and wins over anything older.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from schemas.changes import ChangeSource, ChangeType, SalesforceChange
from schemas.sftime import parse_sf_datetime
from schemas.versions import Version

SKIPPED = {"attributes", "Id", "IsDeleted"}


def epoch_ms(text: str) -> int:
    return int(parse_sf_datetime(text).timestamp() * 1000)


def sf_text(ms: int) -> str:
    """Epoch ms -> a SOQL datetime literal (`2026-11-28T12:00:00.000Z`)."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


_REST_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000")


def cdc_form(value: Any) -> Any:
    """REST writes datetimes as `...T12:00:00.000+0000`, change events as `...T12:00:00.000Z`:
    one instant, one text, so a snapshot and an event of the same value compare equal."""
    if isinstance(value, str) and _REST_DATETIME.fullmatch(value):
        return value[:-5] + "Z"
    return value


def row_change(
    tenant: str, obj: str, row: dict[str, Any], source: ChangeSource
) -> SalesforceChange:
    version = Version(commit_ts=epoch_ms(str(row["SystemModstamp"])))
    deleted = bool(row.get("IsDeleted"))
    fields = (
        {}
        if deleted
        else {
            k: cdc_form(v)
            for k, v in row.items()
            if k not in SKIPPED and not isinstance(v, dict | list)
        }
    )
    return SalesforceChange(
        tenant=tenant,
        object=obj,
        record_id=row["Id"],
        version=version,
        fields=fields,
        change_type=ChangeType.DELETE if deleted else ChangeType.SNAPSHOT,
        source=source,
    )


def missing_change(tenant: str, obj: str, record_id: str, version: Version) -> SalesforceChange:
    """A record a gap event named that REST no longer has (purged): it is gone, as a delete."""
    return SalesforceChange(
        tenant=tenant,
        object=obj,
        record_id=record_id,
        change_type=ChangeType.DELETE,
        version=version,
        source=ChangeSource.GAP_REFETCH,
    )
