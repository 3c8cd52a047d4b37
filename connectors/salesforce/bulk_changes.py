"""Bulk API 2.0 CSV pages -> `sf.changes` messages (pure), without a model per record.

Every row of a Bulk page has the same columns, so what `row_change` and `SalesforceChange` do
per record (validate the tenant, object and field names, look up each field's type, build and
dump two pydantic models) is done once per page here: the names are validated once, each column
gets its converter from its describe type, and a row becomes the JSON that
`row_change(...).model_dump_json()` gives for it (tests/connectors/salesforce/test_bulk_changes.py
holds the two equal on generated rows). A million-record backfill spent most of its time in
those per-record steps (docs/benchmarks.md, "Backfill and profiles").
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from connectors.salesforce.classifier import Decision
from connectors.salesforce.errors import SalesforceApiError
from connectors.salesforce.snapshots import cdc_form, epoch_ms
from schemas.changes import ChangeSource, ChangeType, SalesforceChange
from schemas.contract import change_key
from schemas.versions import Version

_SF_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")  # as schemas.names.SalesforceId
_NOT_FIELDS = {"Id", "IsDeleted"}  # the record's key and its delete mark, not field values

Convert = Callable[[str], Any]


def _boolean(text: str) -> bool | None:
    return None if text == "" else text.lower() == "true"


def _int(text: str) -> int | None:
    return None if text == "" else int(text)


def _number(text: str) -> float | int | None:
    if text == "":
        return None
    number = float(text)
    return int(number) if number.is_integer() else number


def _text(text: str) -> str | None:
    if text == "":
        return None
    # only a text ending in +0000 can be a REST datetime (cdc_form rewrites those to ...Z)
    return cdc_form(text) if text.endswith("+0000") else text


def converter(field_type: str) -> Convert:
    """A Bulk CSV cell -> the value `cdc_form(orgapi.typed(field_type, cell))` gives."""
    if field_type == "boolean":
        return _boolean
    if field_type == "int":
        return _int
    if field_type in ("double", "currency", "percent"):
        return _number
    return _text


@dataclass(frozen=True)
class PageEncoder:
    """One object's Bulk rows (cells in the order of the page's header) -> (key, JSON)."""

    tenant: str
    obj: str
    width: int
    id_at: int
    modstamp_at: int
    deleted_at: int | None
    fields: tuple[tuple[int, str, Convert], ...]

    @classmethod
    def of(cls, tenant: str, obj: str, header: list[str], types: Mapping[str, str]) -> PageEncoder:
        """Checks the names once, as SalesforceChange would for every record."""
        for needed in ("Id", "SystemModstamp"):
            if needed not in header:
                raise SalesforceApiError(
                    f"tenant '{tenant}': the Bulk result of {obj} has no {needed} column",
                    Decision.FATAL,
                )
        names = [n for n in header if n not in _NOT_FIELDS]
        try:  # the names every change of this page carries, checked as SalesforceChange does
            SalesforceChange(
                tenant=tenant,
                object=obj,
                record_id="0" * 18,
                change_type=ChangeType.SNAPSHOT,
                version=Version(commit_ts=0),
                fields=dict.fromkeys(names),
            )
        except ValidationError as e:
            raise SalesforceApiError(
                f"tenant '{tenant}': the Bulk result of {obj} has a name a change may not "
                f"carry: {e.errors()[0]['msg']}",
                Decision.FATAL,
            ) from e
        return cls(
            tenant=tenant,
            obj=obj,
            width=len(header),
            id_at=header.index("Id"),
            modstamp_at=header.index("SystemModstamp"),
            deleted_at=header.index("IsDeleted") if "IsDeleted" in header else None,
            fields=tuple(
                (at, n, converter(types.get(n, "string")))
                for at, n in enumerate(header)
                if n not in _NOT_FIELDS
            ),
        )

    def encode(self, cells: list[str]) -> tuple[str, bytes]:
        """A row as `sf.changes` has it: its key and `row_change(...).model_dump_json()`."""
        if len(cells) != self.width:
            raise self._bad(cells, f"{len(cells)} cells where the header has {self.width}")
        record_id = cells[self.id_at]
        if not _SF_ID.fullmatch(record_id):
            raise self._bad(cells, f"Id {record_id!r} is not a Salesforce record id")
        commit_ts = epoch_ms(cells[self.modstamp_at])
        if commit_ts < 0:
            raise self._bad(cells, f"SystemModstamp {cells[self.modstamp_at]!r} is before 1970")
        deleted = self.deleted_at is not None and cells[self.deleted_at].lower() == "true"
        fields = {} if deleted else {name: conv(cells[at]) for at, name, conv in self.fields}
        change: dict[str, Any] = {
            "tenant": self.tenant,
            "object": self.obj,
            "record_id": record_id,
            "change_type": ChangeType.DELETE.value if deleted else ChangeType.SNAPSHOT.value,
            "version": {"commit_ts": commit_ts, "commit_number": 0, "sequence": 0},
            "fields": fields,
            "changed_fields": [],
            "source": ChangeSource.BACKFILL.value,
            "replay_id": None,
            "transaction_key": None,
            "commit_user": None,
        }
        try:
            encoded = orjson.dumps(change)
        except TypeError:  # an integer beyond 64 bits (orjson's limit): the model writes it
            encoded = SalesforceChange.model_validate(change).model_dump_json().encode()
        return change_key(self.tenant, self.obj, record_id), encoded

    def _bad(self, cells: list[str], why: str) -> SalesforceApiError:
        return SalesforceApiError(
            f"tenant '{self.tenant}': a Bulk row of {self.obj} cannot be a change: {why} "
            f"(row starts {cells[:3]!r}); report it with the org's API version",
            Decision.FATAL,
        )


def page_messages(
    tenant: str, obj: str, page: str, types: Mapping[str, str]
) -> Iterator[tuple[str, bytes]]:
    """One CSV page (its own header first, as Bulk API 2.0 sends every page) -> messages."""
    reader = csv.reader(io.StringIO(page))
    header = next(reader, None)
    if header is None:
        return
    encoder = PageEncoder.of(tenant, obj, header, types)
    for cells in reader:
        if cells:  # a blank line (csv.DictReader skipped them too)
            yield encoder.encode(cells)
