"""A tenant config checked against its org's describe: every field it names exists there, every
filter operator fits its field's type, and every filter value reads as that type.

The product guide's settings page offers only real fields in its dropdowns; a config written by
hand gets the same promise here. Pure: the caller reads describe (the CLI before publishing, the
listener at subscribe time) and passes `{object: {field: describe type}}`, None for an object the
org does not have. Values are read the way the rules read them at run time
(streams/rules/filters.py): a number as a float, a date or datetime as an ISO instant with a
zone, a boolean as true/false.

Compound fields. sfsim's describe (sfsim/metadata.py), like Salesforce's, lists an address
(`BillingAddress`, type `address`) next to its parts (`BillingStreet`, `BillingCity`, ...,
each naming it as `compoundFieldName`); a change event nests the parts under it and the
normaliser flattens them back, so a record's state holds only the parts. Hence:
- an address is a valid trait (a default of accounts, and an extra trait): the rules compose it
  from its parts (streams/rules/traits.py, for any name ending in `Address`);
- an address is not a valid filter field or id field: no record ever carries a value under its
  own name, so the filter would see it empty; filter on a part instead;
- describe as `OrgApi.field_types` reads it leaves compound parents out, so a name ending in
  `Address` whose parts are in the describe counts as an address too;
- a geolocation (`location`) is never composed, so it is refused everywhere; name its parts.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from schemas.describe import BOOLEAN_TYPES, INSTANT_TYPES, NUMBER_TYPES
from schemas.errors import ConfigIssue
from schemas.sftime import parse_sf_datetime
from schemas.tenant import (
    LIST_VALUE,
    NO_VALUE,
    ORDERED_VALUE,
    TEXT_VALUE,
    AccountsSection,
    Condition,
    ContactsSection,
    CustomObjectSection,
    Filter,
    Operator,
    TenantConfig,
)

Describes = Mapping[str, Mapping[str, str] | None]

# describe types whose values are text: the text operators (contains, starts_with, ...) fit them
TEXT_TYPES = frozenset(
    {
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
        "combobox",
        "id",
        "reference",
        "encryptedstring",
    }
)
ADDRESS = "address"
LOCATION = "location"
ADDRESS_PARTS = ("Street", "City", "State", "PostalCode", "Country", "Latitude", "Longitude")
ANY_TYPE_OPERATORS = {Operator.EQUALS, Operator.NOT_EQUALS} | LIST_VALUE | NO_VALUE
# the closed-won rule reads these on each opportunity (streams/evaluator.py)
DEAL_FIELDS = ("AccountId", "IsWon")


@dataclass(frozen=True)
class OrgProblem(ConfigIssue):
    """Something a config names that its org does not have, or cannot compare as asked.

    Printed like a config validation issue: `tenant 'acme': <path>: <what is wrong; the fix>`.
    """


def objects_named(config: TenantConfig) -> list[str]:
    """The objects whose describe the check needs: those the config syncs."""
    return config.synced_objects()


def check_against_org(
    config: TenantConfig, describes: Describes, org_objects: Collection[str] = ()
) -> list[OrgProblem]:
    """Every problem found, in the config's order; empty when the config fits the org.

    `org_objects` (every object name in the org, from the global describe) only improves the
    suggestion for a misspelt object.
    """
    check = _Check(config.tenant, describes, tuple(org_objects))
    if config.accounts:
        check.entity("accounts", "Account", config.accounts)
        if config.accounts.closed_won_only:
            check.deals()
    if config.contacts:
        check.entity("contacts", "Contact", config.contacts)
    for n, custom in enumerate(config.custom_objects):
        check.custom(f"custom_objects[{n}]", custom)
    return check.problems


@dataclass
class _Check:
    tenant: str
    describes: Describes
    org_objects: tuple[str, ...]
    problems: list[OrgProblem] = field(default_factory=list)

    def report(self, path: str, message: str) -> None:
        self.problems.append(OrgProblem(self.tenant, path, message))

    def entity(self, path: str, obj: str, section: AccountsSection | ContactsSection) -> None:
        fields = self.object_fields(path, obj)
        if fields is None:
            return
        if section.id_field is not None:
            self.id_field(f"{path}.id_field", obj, fields, section.id_field)
        for n, name in enumerate(section.extra_traits):
            self.trait(f"{path}.extra_traits[{n}]", obj, fields, name)
        self.filter(f"{path}.filter", obj, fields, section.filter)

    def custom(self, path: str, section: CustomObjectSection) -> None:
        fields = self.object_fields(f"{path}.object", section.object)
        if fields is None:
            return
        self.id_field(f"{path}.id_field", section.object, fields, section.id_field)
        self.filter(f"{path}.filter", section.object, fields, section.filter)

    def deals(self) -> None:
        fields = self.object_fields("accounts.closed_won_only", "Opportunity")
        if fields is not None:
            for name in DEAL_FIELDS:
                self.field_type("accounts.closed_won_only", "Opportunity", fields, name)

    def object_fields(self, path: str, obj: str) -> Mapping[str, str] | None:
        fields = self.describes.get(obj)
        if fields is None:
            self.report(path, _no_object(obj, self.org_objects))
        return fields

    def field_type(self, path: str, obj: str, fields: Mapping[str, str], name: str) -> str | None:
        found = _type_of(fields, name)
        if found is None:
            self.report(path, _no_field(obj, name, fields))
        return found

    def id_field(self, path: str, obj: str, fields: Mapping[str, str], name: str) -> None:
        found = self.field_type(path, obj, fields, name)
        if found in (ADDRESS, LOCATION):
            self.report(path, _compound(name, found, fields, "hold the Gather id"))

    def trait(self, path: str, obj: str, fields: Mapping[str, str], name: str) -> None:
        found = self.field_type(path, obj, fields, name)
        if found == LOCATION or (found == ADDRESS and not name.endswith("Address")):
            self.report(path, _compound(name, found, fields, "be a trait"))

    def filter(self, path: str, obj: str, fields: Mapping[str, str], rule: Filter | None) -> None:
        for n, condition in enumerate(rule.conditions if rule else []):
            self.condition(f"{path}.conditions[{n}]", obj, fields, condition)

    def condition(
        self, path: str, obj: str, fields: Mapping[str, str], condition: Condition
    ) -> None:
        found = self.field_type(f"{path}.field", obj, fields, condition.field)
        if found in (ADDRESS, LOCATION):
            self.report(f"{path}.field", _compound(condition.field, found, fields, "be filtered"))
        elif found is not None and (why := _operator_misfit(condition, found)):
            self.report(f"{path}.operator", why)
        elif found is not None:
            for where, message in _value_problems(condition, found):
                self.report(f"{path}.{where}", message)


# --- fields ------------------------------------------------------------------------------------


def _type_of(fields: Mapping[str, str], name: str) -> str | None:
    """The field's describe type; an address left out of describe counts if its parts are in."""
    if name in fields:
        return fields[name]
    return ADDRESS if _address_parts(fields, name) else None


def _address_parts(fields: Mapping[str, str], name: str) -> list[str]:
    if not name.endswith("Address"):
        return []
    prefix = name.removesuffix("Address")
    return [prefix + part for part in ADDRESS_PARTS if prefix + part in fields]


def _no_object(obj: str, org_objects: tuple[str, ...]) -> str:
    close = _closest(obj, org_objects)
    hint = (
        f"did you mean {close}?"
        if close
        else "check its API name (a custom object's ends in __c) and that the integration "
        "user may read it"
    )
    return f"no object '{obj}' in the org; {hint}"


def _no_field(obj: str, name: str, fields: Mapping[str, str]) -> str:
    close = _closest(name, tuple(fields))
    hint = (
        f"did you mean {close}?"
        if close
        else f"its fields are listed in Setup > Object Manager > {obj} > Fields & Relationships"
    )
    return f"no field '{name}' on {obj}; {hint}"


def _closest(name: str, candidates: tuple[str, ...]) -> str:
    """Up to three real names like `name`: same letters in another case first, then difflib's."""
    same = [c for c in candidates if c.lower() == name.lower()]
    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.7)
    found = list(dict.fromkeys(same + [by_lower[c] for c in close]))[:3]
    return " or ".join(found)


def _compound(name: str, field_type: str, fields: Mapping[str, str], role: str) -> str:
    parts = _address_parts(fields, name) if field_type == ADDRESS else []
    named = f": {', '.join(parts)}" if parts else " (its latitude and longitude fields)"
    return (
        f"'{name}' is a compound {field_type} field, whose value arrives only in its parts, "
        f"so it cannot {role}; use one of its parts{named}"
    )


# --- operators and values ----------------------------------------------------------------------


def operators_for(field_type: str) -> list[Operator]:
    """The operators that compare a field of this describe type meaningfully, in enum order."""
    fitting = set(ANY_TYPE_OPERATORS)
    if field_type in NUMBER_TYPES | INSTANT_TYPES:
        fitting |= ORDERED_VALUE
    if field_type in TEXT_TYPES:
        fitting |= TEXT_VALUE
    return [op for op in Operator if op in fitting]


def _operator_misfit(condition: Condition, field_type: str) -> str | None:
    fitting = operators_for(field_type)
    if condition.operator in fitting:
        return None
    kind = "compares text" if condition.operator in TEXT_VALUE else "orders values"
    return (
        f"'{condition.operator.value}' {kind}, which does not fit {condition.field} "
        f"({field_type}); use one of {', '.join(op.value for op in fitting)}"
    )


def _value_problems(condition: Condition, field_type: str) -> list[tuple[str, str]]:
    reader = _READERS.get(_kind(field_type))
    if reader is None or condition.value is None:
        return []
    if isinstance(condition.value, list):
        pairs = [(f"value[{n}]", v) for n, v in enumerate(condition.value)]
    else:
        pairs = [("value", condition.value)]
    return [
        (where, _unreadable(value, condition.field, field_type))
        for where, value in pairs
        if not _reads(reader[0], value)
    ]


def _kind(field_type: str) -> str:
    if field_type in NUMBER_TYPES:
        return "number"
    if field_type in INSTANT_TYPES:
        return "instant"
    return "boolean" if field_type in BOOLEAN_TYPES else "text"


def _reads(read: Callable[[Any], object], value: Any) -> bool:
    try:
        read(value)
    except (TypeError, ValueError):
        return False
    return True


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("true/false is not a number")
    return float(value)


def _instant(value: Any) -> object:
    """As the rules read it: `2026-01-31` (a day) or an ISO 8601 datetime with a zone."""
    if isinstance(value, bool | int | float):
        raise TypeError("a number is not a date")
    text = str(value)
    return date.fromisoformat(text) if len(text) == 10 else parse_sf_datetime(text)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool) and str(value).lower() not in ("true", "false"):
        raise ValueError(value)
    return True


_READERS: dict[str, tuple[Callable[[Any], object], str]] = {
    "number": (_number, "a number, e.g. 10 or 2500.50"),
    "instant": (
        _instant,
        "a date like 2026-01-31 or a datetime with a zone like 2026-01-31T09:00:00Z",
    ),
    "boolean": (_boolean, "true or false"),
}


def _unreadable(value: Any, name: str, field_type: str) -> str:
    expected = _READERS[_kind(field_type)][1]
    return f"{value!r} cannot be compared with {name} ({field_type}); write {expected}"
