"""The in-memory org: records, the Recycle Bin, and transactions that publish change events.

Every write, whether from REST or from the generator, goes through a transaction; at commit the
writes become change events in the event log: one per record, or one for several records when a
transaction makes the same change to each (Salesforce merges those into one event with several
recordIds), and GAP_OVERFLOW per entity past the overflow threshold.
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_merged_events.htm
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from schemas.sftime import parse_sf_datetime
from sfsim import cdc, errors
from sfsim.clock import Clock, sf_datetime
from sfsim.eventlog import EventLog
from sfsim.ids import is_valid_id, make_id, to_18
from sfsim.metadata import STAGES, FieldDef, ObjectDef, OrgSchema

OVERFLOW_THRESHOLD = 100_000
ORG_ID = make_id("00D", 1)
ADMIN_USER_ID = make_id("005", 1)


@dataclass
class Transaction:
    writes: list[cdc.Write] = field(default_factory=list)


class Org:
    def __init__(
        self,
        schema: OrgSchema,
        clock: Clock,
        log: EventLog,
        overflow_threshold: int = OVERFLOW_THRESHOLD,
    ) -> None:
        self.schema = schema
        self.clock = clock
        self.log = log
        self.overflow_threshold = overflow_threshold
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in schema.objects}
        self.force_gap = False  # fault: publish the next transactions as GAP_* events
        self._counter = itertools.count(1000)
        self._commit_numbers = itertools.count(10_716_283_339_728)
        self._txn: Transaction | None = None

    # --- reads ---------------------------------------------------------------------------------

    def object(self, name: str) -> ObjectDef:
        found = self.schema.get(name)
        if found is None:
            raise errors.InvalidType(
                f"The requested resource does not exist: sobject type '{name}'"
            )
        return found

    def get(self, obj_name: str, record_id: str, include_deleted: bool = False) -> dict[str, Any]:
        obj = self.object(obj_name)
        record = self.records[obj.name].get(_id18(record_id))
        if record is None or (record["IsDeleted"] and not include_deleted):
            raise errors.NotFound("The requested resource does not exist")
        return record

    def rows(self, obj_name: str, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        obj = self.object(obj_name)
        return (r for r in self.records[obj.name].values() if include_deleted or not r["IsDeleted"])

    # --- setup ---------------------------------------------------------------------------------

    def add_field(self, obj_name: str, new: FieldDef) -> ObjectDef:
        """Setup's "New Field": from now on describe lists it, queries read it, writes may set it
        and change events carry it; existing records hold null in it."""
        obj = self.object(obj_name)
        existing = obj.field_ci(new.name)
        if existing is not None:
            raise errors.DuplicateDeveloperName(f"{obj.name} already has a field {existing.name}")
        self.schema = self.schema.with_field(obj.name, new)
        for record in self.records[obj.name].values():
            record.setdefault(new.name, None)
        return self.object(obj.name)

    # --- writes --------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Writes inside share one commit; nested use joins the outer transaction."""
        if self._txn is not None:
            yield self._txn
            return
        self._txn = Transaction()
        try:
            yield self._txn
            self._commit(self._txn)
        finally:
            self._txn = None

    def create(self, obj_name: str, values: dict[str, Any], user: str = ADMIN_USER_ID) -> str:
        obj = self.object(obj_name)
        clean = self._coerce(obj, values, creating=True)
        _require_fields(obj, clean)
        now = sf_datetime(self.clock.now())
        record_id = make_id(obj.key_prefix, next(self._counter))
        record: dict[str, Any] = {n: None for n in obj.fields if obj.fields[n].type != "address"}
        record |= {
            "Id": record_id,
            "IsDeleted": False,
            "OwnerId": user,
            "CreatedDate": now,
            "CreatedById": user,
            "LastModifiedDate": now,
            "LastModifiedById": user,
            "SystemModstamp": now,
        } | clean
        _derive(obj, record)
        self.records[obj.name][record_id] = record
        self._record_write("CREATE", obj, record_id, {k: v for k, v in record.items()})
        return record_id

    def update(
        self, obj_name: str, record_id: str, values: dict[str, Any], user: str = ADMIN_USER_ID
    ) -> None:
        obj = self.object(obj_name)
        record = self._live(obj, record_id)
        clean = self._coerce(obj, values, creating=False)
        before = dict(record)
        record.update(clean)
        _derive(obj, record)
        changed = {k: v for k, v in record.items() if before.get(k) != v}
        if not changed:
            return  # Salesforce publishes no event for a write that changes nothing
        now = sf_datetime(self.clock.now())
        record.update({"LastModifiedDate": now, "LastModifiedById": user, "SystemModstamp": now})
        changed |= {"LastModifiedDate": now}
        previous = {k: before.get(k) for k in changed}
        self._record_write("UPDATE", obj, record["Id"], changed, previous)

    def delete(self, obj_name: str, record_id: str) -> None:
        obj = self.object(obj_name)
        record = self._live(obj, record_id)
        now = sf_datetime(self.clock.now())
        record.update({"IsDeleted": True, "SystemModstamp": now, "LastModifiedDate": now})
        self._record_write("DELETE", obj, record["Id"], {})

    def undelete(self, obj_name: str, record_id: str) -> None:
        obj = self.object(obj_name)
        record = self.records[obj.name].get(_id18(record_id))
        if record is None or not record["IsDeleted"]:
            raise errors.UndeleteFailed(f"{record_id}: the record is not in the Recycle Bin")
        now = sf_datetime(self.clock.now())
        record.update({"IsDeleted": False, "SystemModstamp": now, "LastModifiedDate": now})
        self._record_write("UNDELETE", obj, record["Id"], dict(record))

    def _live(self, obj: ObjectDef, record_id: str) -> dict[str, Any]:
        record = self.records[obj.name].get(_id18(record_id))
        if record is None:
            raise errors.NotFound(f"The requested resource does not exist: {record_id}")
        if record["IsDeleted"]:
            raise errors.EntityIsDeleted("entity is deleted", [])
        return record

    def _record_write(
        self,
        change_type: str,
        obj: ObjectDef,
        record_id: str,
        values: dict[str, Any],
        previous: dict[str, Any] | None = None,
    ) -> None:
        write = cdc.Write(change_type, obj, record_id, values, previous or {})
        if self._txn is not None:
            self._txn.writes.append(write)
        else:
            self._commit(Transaction([write]))

    # --- commit --------------------------------------------------------------------------------

    def _commit(self, txn: Transaction) -> None:
        if not txn.writes:
            return
        commit = cdc.Commit(
            str(uuid.uuid4()), self.clock.now(), next(self._commit_numbers), ADMIN_USER_ID
        )
        shown, overflow = (
            txn.writes[: self.overflow_threshold],
            txn.writes[self.overflow_threshold :],
        )
        sequence = 0
        for group in _merge(shown):
            sequence += 1
            event = cdc.build_event(group, commit, sequence, gap=self.force_gap)
            self.log.append(f"/data/{group[0].obj.change_event_name}", event)
        for obj in _objects_in(overflow):
            sequence += 1
            self.log.append(
                f"/data/{obj.change_event_name}", cdc.build_overflow(obj, commit, sequence)
            )

    # --- values --------------------------------------------------------------------------------

    def _coerce(self, obj: ObjectDef, values: dict[str, Any], creating: bool) -> dict[str, Any]:
        clean = {}
        for name, value in values.items():
            if name == "attributes":
                continue
            f = obj.field_ci(name)
            if f is None:
                raise errors.InvalidField(f"No such column '{name}' on sobject of type {obj.name}")
            if not (f.createable if creating else f.updateable):
                raise errors.InvalidFieldForInsertUpdate(
                    f"Unable to create/update fields: {f.name}. Please check the security settings "
                    "of this field and verify that it is read/write for your profile or "
                    "permission set.",
                    [f.name],
                )
            clean[f.name] = _coerce_value(f, value)
        return clean

    # --- persistence ---------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        data = {obj: list(rows.values()) for obj, rows in self.records.items()}
        path.write_text(json.dumps(data), encoding="utf-8")

    def load(self, path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        for obj_name, rows in data.items():
            obj = self.object(obj_name)
            self.records[obj.name].update({row["Id"]: row for row in rows})


def _id18(record_id: str) -> str:
    if not is_valid_id(record_id):
        raise errors.MalformedId(f"Id is malformed: {record_id}")
    return to_18(record_id)


def _require_fields(obj: ObjectDef, values: dict[str, Any]) -> None:
    missing = [
        f.name
        for f in obj.fields.values()
        if f.createable and not f.nillable and values.get(f.name) is None
    ]
    if missing:
        raise errors.RequiredFieldMissing(
            f"Required fields are missing: [{', '.join(missing)}]", missing
        )


def _derive(obj: ObjectDef, record: dict[str, Any]) -> None:
    """Fields Salesforce computes: Opportunity IsClosed/IsWon from the stage, Contact Name."""
    if obj.name == "Opportunity":
        record["IsClosed"], record["IsWon"] = STAGES.get(
            record.get("StageName") or "", (False, False)
        )
    if obj.name == "Contact":
        parts = [record.get("FirstName"), record.get("LastName")]
        record["Name"] = " ".join(p for p in parts if p) or None


def _coerce_value(f: FieldDef, value: Any) -> Any:
    if value is None or value == "":
        return None
    try:
        return _COERCE.get(f.type, _as_text)(value)
    except (TypeError, ValueError) as e:
        raise errors.InvalidValue(f"{f.name}: value not of required type: {value}", [f.name]) from e


def _as_text(value: Any) -> str:
    if isinstance(value, dict | list):
        raise TypeError("not text")
    return str(value)


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise ValueError(value)


def _as_date(value: Any) -> str:
    return date.fromisoformat(str(value)).isoformat()


def _as_datetime(value: Any) -> str:
    """Any ISO 8601 instant with a zone -> Salesforce's text, normalised to UTC."""
    return sf_datetime(parse_datetime(value))


def parse_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else parse_sf_datetime(str(value))


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(value)
    return int(value)


def _as_number(value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueError(value)
    number = float(value)
    return int(number) if number.is_integer() else number


_COERCE = {
    "boolean": _as_bool,
    "date": _as_date,
    "datetime": _as_datetime,
    "int": _as_int,
    "double": _as_number,
    "currency": _as_number,
    "percent": _as_number,
}


def _merge(writes: list[cdc.Write]) -> list[list[cdc.Write]]:
    """Consecutive writes making the same change to records of one object share one event."""
    groups: list[list[cdc.Write]] = []
    for write in writes:
        mergeable = write.change_type in ("UPDATE", "DELETE", "UNDELETE") and groups
        if mergeable and groups[-1][0].merge_key() == write.merge_key():
            groups[-1].append(write)
        else:
            groups.append([write])
    return groups


def _objects_in(writes: list[cdc.Write]) -> list[ObjectDef]:
    seen: dict[str, ObjectDef] = {}
    for write in writes:
        seen.setdefault(write.obj.name, write.obj)
    return list(seen.values())
