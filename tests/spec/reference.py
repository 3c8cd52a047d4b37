"""The product guide's sync rules written a second time, from the guide alone: a reference.

It shares no code with the product (nothing from `streams/`, `connectors/` or `schemas/`): a
tenant config is the plain dict of its YAML, field types are `{object: {field: describe type}}`,
records are plain dicts shaped like sfsim's rows (`Id`, `IsDeleted` and the fields), and the
result is the Gather store the guide implies, as plain data. `expected` takes a history (the
org's records step by step), so it can say what a record leaving and re-entering a filter leaves
behind. The rules, from ../shared/spec/salesforce-installation.md and the "Rules, made precise"
section of ../shared/DESIGN.md, with the choices where the guide is silent marked "choice":

- Create mode: the Gather id is the id field's value (`Id` is the record id); a record whose id
  field is empty (null, "" or blanks) is skipped and counted. When the value changes, the row
  under the old value is marked deleted at once, reason `id_changed` (the Gather entity under the
  old id no longer stands for the record; choice: whether or not the record matches its filter
  then, and also when the new value is empty). Custom objects follow the same rule.
- Update-existing mode: every Gather row whose match trait equals the Salesforce Id is updated;
  nothing is created.
- Traits: accounts Name, Phone, Description, Industry, BillingAddress, Website, YearStarted,
  NumberOfEmployees; users Id, FirstName, LastName, Email, Phone; plus the extra traits; a custom
  object's record gets every field but Id and IsDeleted (which are its sf_id and deleted mark).
  A field absent from the record leaves its trait as it was; a null value means no value.
  `BillingAddress` is composed from BillingStreet, City, State, PostalCode and Country as
  `{street, city, state, postal_code, country}` (its non-null parts; no value when all are null).
- snake_case: words split where the case changes (a run of capitals is one word), every run of
  underscores becomes one. Custom fields keep their suffix as `_c` (`Tier__c` -> `tier_c`,
  `SLAExpirationDate__c` -> `sla_expiration_date_c`), so a standard `Tier` and a custom
  `Tier__c` never share a trait (DESIGN asks for a documented rule; this is the one the project
  documents).
- Closed-won only: an account qualifies while an Opportunity that is not deleted has
  `AccountId` = the account and `IsWon` true.
- Filters: all or any of the conditions, each compared by the field's describe type: numbers
  (int, long, double, currency, percent) as numbers; date and datetime as instants (a date is its
  UTC midnight; a datetime needs a zone); boolean as true/false; anything else as text without
  regard to case. `not_equals`, `not_contains` and `not_in` are the negations of `equals`,
  `contains` and `in`; an empty value (null or "") is equal to, contains and is in nothing. An
  operator that does not fit the type (`gt` on text, `contains` on a number) is an error.
- A record that stops matching (filter, closed won) keeps its row as last synced (not deleted);
  one that matches again is synced in full.
- A Salesforce delete marks the rows of the record deleted (reason `deleted`), whatever the filter
  says; an undelete clears that mark (choice: whatever the filter says, as DESIGN puts it
  plainly; the traits are then updated only if the record matches). A record never synced has no
  row to mark.
- A user's link: `sf_account_id` is its contact's AccountId as last synced; `account_id` is the
  Gather account holding that Salesforce id (choice: a live one before a deleted one, then the
  smallest id), whichever of the two was synced first.
- A custom object's model exists once the config naming it is saved.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

Record = Mapping[str, Any]
Records = Mapping[str, Sequence[Record]]  # object -> records, each its full state
Types = Mapping[str, Mapping[str, str]]  # object -> field -> describe type
# (table, tenant, model or "", Gather id); a model itself is ("models", tenant, "", its name)
Key = tuple[str, str, str, str]
Row = dict[str, Any]

ACCOUNT_TRAITS = (
    "Name",
    "Phone",
    "Description",
    "Industry",
    "BillingAddress",
    "Website",
    "YearStarted",
    "NumberOfEmployees",
)
USER_TRAITS = ("Id", "FirstName", "LastName", "Email", "Phone")
ADDRESS_PARTS = ("Street", "City", "State", "PostalCode", "Country")
NOT_TRAITS = {"Id", "IsDeleted", "attributes"}
NUMBER = {"int", "long", "double", "currency", "percent"}
INSTANT = {"date", "datetime"}
TEXT_OPS = {"contains", "starts_with", "ends_with"}
ORDER_OPS = {"gt", "gte", "lt", "lte"}


class SpecError(Exception):
    """A case the reference cannot judge: a field without a type, an operator misfit, bad data."""


@dataclass(frozen=True)
class Step:
    """What happened in the org at one moment: records written (each its full state after the
    write, `IsDeleted` true while in the Recycle Bin), and optionally a new tenant config."""

    records: Records = field(default_factory=dict)
    config: Mapping[str, Any] | None = None


@dataclass
class Expected:
    rows: dict[Key, Row] = field(default_factory=dict)
    unsynced: set[tuple[str, str]] = field(default_factory=set)  # live (object, Id) not synced now
    no_id: set[tuple[str, str]] = field(default_factory=set)  # live (object, Id) with an empty id


def expected(
    config: Mapping[str, Any],
    types: Types,
    steps: Sequence[Step],
    existing: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> Expected:
    """The store after `steps`, from `existing` Gather rows ({"accounts": [{id, traits}], ...}).

    Writes are applied one at a time, in order, and each is judged at once: the record written
    and, for an opportunity, the accounts it leaves and joins. A config (the first, or a change)
    re-judges every record the org holds."""
    sync = _Sync(str(config["tenant"]), types, existing or {})
    org: dict[str, dict[str, Record]] = {}
    for n, step in enumerate(steps):
        if n == 0 or step.config is not None:
            config = step.config or config
            sync.save_models(config)
            sync.evaluate(config, org, [(o, i) for o, records in org.items() for i in records])
        for obj, records in step.records.items():
            for record in records:
                before = org.setdefault(obj, {}).get(record["Id"])
                sync.move_id(config, obj, before, record)
                if before is not None and before["IsDeleted"] and not record["IsDeleted"]:
                    sync.undelete(config, obj, record)
                org[obj][record["Id"]] = record
                sync.evaluate(config, org, _touched(obj, before, record))
    sync.link_users()
    return sync.result


def _touched(obj: str, before: Record | None, now: Record) -> list[tuple[str, str]]:
    """The records a write may change the outcome of: itself; an opportunity's accounts."""
    found = [(obj, str(now["Id"]))]
    if obj == "Opportunity":
        accounts = {str(r["AccountId"]) for r in (before, now) if r and r.get("AccountId")}
        found += [("Account", a) for a in sorted(accounts)]
    return found


class _Sync:
    def __init__(
        self, tenant: str, types: Types, existing: Mapping[str, Sequence[Mapping[str, Any]]]
    ) -> None:
        self.tenant, self.types = tenant, types
        self.result = Expected()
        for table in ("accounts", "users"):
            for seed in existing.get(table, []):
                key = (table, tenant, "", str(seed["id"]))
                self.result.rows[key] = _new_row(table) | {"traits": dict(seed["traits"])}

    def save_models(self, config: Mapping[str, Any]) -> None:
        for custom in config.get("custom_objects") or []:
            key = ("models", self.tenant, "", custom["model"])
            wanted = {"object": custom["object"], "id_field": custom["id_field"]}
            self.result.rows.setdefault(key, wanted)

    # --- create mode: the id field moving --------------------------------------------------------

    def move_id(
        self, config: Mapping[str, Any], obj: str, before: Record | None, now: Record
    ) -> None:
        found = _section(config, obj)
        if before is None or found is None or found[1].get("sync_mode") == "update_existing":
            return
        table, section, model = found
        old, new = _gather_id(before, section["id_field"]), _gather_id(now, section["id_field"])
        if old is not None and old != new:
            self._mark((table, self.tenant, model, old), "id_changed", now["Id"])

    def undelete(self, config: Mapping[str, Any], obj: str, record: Record) -> None:
        """The rows a delete marked are live again, as last synced (a record that does not match
        now is still not updated, but its Gather entity is no longer deleted)."""
        found = _section(config, obj)
        if found is None:
            return
        for key in self._keys(*found, record) or []:
            if self.result.rows.get(key, {}).get("delete_reason") == "deleted":
                self.result.rows[key] |= {"deleted": False, "delete_reason": None}

    # --- records judged ----------------------------------------------------------------------------

    def evaluate(
        self,
        config: Mapping[str, Any],
        org: Mapping[str, Mapping[str, Record]],
        names: list[tuple[str, str]],
    ) -> None:
        deals = list(org.get("Opportunity", {}).values())
        for obj, record_id in names:
            found = _section(config, obj)
            record = org.get(obj, {}).get(record_id)
            if found is not None and record is not None:
                self.result.unsynced.discard((obj, record_id))
                self.result.no_id.discard((obj, record_id))
                self._one(obj, record, found, deals)

    def _one(
        self,
        obj: str,
        record: Record,
        found: tuple[str, Mapping[str, Any], str],
        deals: list[Record],
    ) -> None:
        table, section, model = found
        keys = self._keys(table, section, model, record)
        if record["IsDeleted"]:
            for key in keys or []:
                self._mark(key, "deleted", record["Id"])
            return
        name = (obj, str(record["Id"]))
        if keys is None:
            self.result.no_id.add(name)
        if keys is None or not self._qualifies(obj, section, record, deals):
            self.result.unsynced.add(name)
            return
        values = _traits(obj, section, record)
        for key in keys:
            self._write(key, record, values)

    def _keys(
        self, table: str, section: Mapping[str, Any], model: str, record: Record
    ) -> list[Key] | None:
        """The rows the record writes: its id field's (None when empty), or every match."""
        if section.get("sync_mode") == "update_existing":
            trait, sf_id = section["match_trait"], record["Id"]
            return sorted(
                k
                for k, row in self.result.rows.items()
                if k[:2] == (table, self.tenant) and row["traits"].get(trait) == sf_id
            )
        gather_id = _gather_id(record, section["id_field"])
        return None if gather_id is None else [(table, self.tenant, model, gather_id)]

    def _qualifies(
        self, obj: str, section: Mapping[str, Any], record: Record, deals: list[Record]
    ) -> bool:
        if section.get("closed_won_only") and not any(
            d.get("AccountId") == record["Id"] and d.get("IsWon") is True and not d["IsDeleted"]
            for d in deals
        ):
            return False
        return matches(section.get("filter"), record, self.types.get(obj, {}))

    # --- the store --------------------------------------------------------------------------------

    def _write(self, key: Key, record: Record, values: Mapping[str, Any]) -> None:
        row = self.result.rows.setdefault(key, _new_row(key[0]))
        row |= {"sf_id": record["Id"], "deleted": False, "delete_reason": None}
        for trait, value in values.items():
            if value is None:
                row["traits"].pop(trait, None)
            else:
                row["traits"][trait] = value
        if key[0] == "users" and "AccountId" in record:
            row["sf_account_id"] = record["AccountId"] or None

    def _mark(self, key: Key, reason: str, sf_id: str) -> None:
        if key in self.result.rows:
            self.result.rows[key] |= {"sf_id": sf_id, "deleted": True, "delete_reason": reason}

    def link_users(self) -> None:
        for key, row in self.result.rows.items():
            if key[0] == "users":
                row["account_id"] = self._account_holding(row["sf_account_id"])

    def _account_holding(self, sf_id: str | None) -> str | None:
        """The Gather account of a Salesforce Account: a live row before a deleted one."""
        held = sorted(
            (row["deleted"], key[3])
            for key, row in self.result.rows.items()
            if key[:2] == ("accounts", self.tenant) and sf_id and row["sf_id"] == sf_id
        )
        return held[0][1] if held else None


def _new_row(table: str) -> Row:
    row: Row = {"sf_id": None, "traits": {}, "deleted": False, "delete_reason": None}
    return row | ({"sf_account_id": None, "account_id": None} if table == "users" else {})


def _section(config: Mapping[str, Any], obj: str) -> tuple[str, Mapping[str, Any], str] | None:
    """(table, section, model or "") of the config part that syncs `obj`, if any."""
    if obj == "Account":
        return ("accounts", config["accounts"], "") if config.get("accounts") else None
    if obj == "Contact":
        return ("users", config["contacts"], "") if config.get("contacts") else None
    for custom in config.get("custom_objects") or []:
        if custom["object"] == obj:
            return "records", custom, custom["model"]
    return None


def _gather_id(record: Record, id_field: str) -> str | None:
    value = record.get(id_field)
    return None if value is None or str(value).strip() == "" else str(value)


# --- traits -------------------------------------------------------------------------------------


def _traits(obj: str, section: Mapping[str, Any], record: Record) -> dict[str, Any]:
    if obj == "Account":
        names = [*ACCOUNT_TRAITS, *(section.get("extra_traits") or [])]
    elif obj == "Contact":
        names = [*USER_TRAITS, *(section.get("extra_traits") or [])]
    else:
        names = [n for n, v in record.items() if n not in NOT_TRAITS and _scalar(v)]
    values: dict[str, Any] = {}
    for name in names:
        if name == "Id":
            values["id"] = record["Id"]
        elif name in record:
            values[snake_case(name)] = record[name]
        elif name.endswith("Address"):
            values |= _address(name, record)
    return values


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _address(name: str, record: Record) -> dict[str, Any]:
    prefix = name.removesuffix("Address")
    parts = {p: record[prefix + p] for p in ADDRESS_PARTS if prefix + p in record}
    if not parts:
        return {}  # the record says nothing about this address: leave it as it was
    composed = {snake_case(p): v for p, v in parts.items() if v is not None}
    return {snake_case(name): composed or None}


def snake_case(name: str) -> str:
    """`NumberOfEmployees` -> `number_of_employees`, `SLAExpirationDate__c` ->
    `sla_expiration_date_c`: an underscore before a capital that follows a small letter or a
    digit, or that starts a word after a run of capitals; then one underscore per run."""
    out = []
    for i, ch in enumerate(name):
        before = name[i - 1] if i else ""
        after = name[i + 1] if i + 1 < len(name) else ""
        starts_word = before.islower() or before.isdigit() or (before.isupper() and after.islower())
        if ch.isupper() and starts_word:
            out.append("_")
        out.append(ch.lower())
    return "_".join(word for word in "".join(out).split("_") if word)


# --- filters ------------------------------------------------------------------------------------


def matches(rule: Mapping[str, Any] | None, record: Record, types: Mapping[str, str]) -> bool:
    if not rule:
        return True
    results = [
        holds(c, record.get(c["field"]), _type(types, c["field"])) for c in rule["conditions"]
    ]
    return all(results) if rule["match"] == "all" else any(results)


def _type(types: Mapping[str, str], name: str) -> str:
    if name not in types:
        raise SpecError(f"no describe type given for the filtered field {name!r}")
    return types[name]


def holds(condition: Mapping[str, Any], value: Any, field_type: str) -> bool:
    op, wanted = condition["operator"], condition.get("value")
    if op == "is_empty":
        return _empty(value)
    if op == "is_not_empty":
        return not _empty(value)
    if op in ("not_equals", "not_contains", "not_in"):
        return not holds({**condition, "operator": op.removeprefix("not_")}, value, field_type)
    kind = _kind(field_type)
    ordered = kind in ("number", "instant")
    if (op in TEXT_OPS and kind != "text") or (op in ORDER_OPS and not ordered):
        raise SpecError(f"operator {op!r} does not fit a {field_type} field")
    if _empty(value):
        return False
    read = READ[kind]
    actual = read(value)
    if op == "in":
        return any(actual == read(w) for w in wanted or [])
    return bool(COMPARE[op](actual, read(wanted)))


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _kind(field_type: str) -> str:
    if field_type in NUMBER:
        return "number"
    if field_type in INSTANT:
        return "instant"
    return "boolean" if field_type == "boolean" else "text"


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise SpecError(f"{value!r} is not a number")
    return float(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() not in ("true", "false"):
        raise SpecError(f"{value!r} is not true or false")
    return str(value).lower() == "true"


def _instant(value: Any) -> datetime:
    """A date is its UTC midnight; a datetime is read with its offset (Z, +0000, +02:00)."""
    text = str(value)
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise SpecError(f"{value!r} has no time zone")
    return moment


def _text(value: Any) -> str:
    return str(value).casefold()


READ: dict[str, Callable[[Any], Any]] = {
    "number": _number,
    "instant": _instant,
    "boolean": _boolean,
    "text": _text,
}
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "equals": operator.eq,
    "contains": lambda actual, wanted: wanted in actual,
    "starts_with": lambda actual, wanted: actual.startswith(wanted),
    "ends_with": lambda actual, wanted: actual.endswith(wanted),
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
