"""The tenant's rules on one record's state, step by step, with the worker's own rule functions.

The steps say what each rule of the product guide checks for this record (sync mode and id,
each filter condition with the field's describe type and value, closed won with the deals that
decide it, a contact's account link); the decision is what `streams.rules.entities` gives, the
same call the worker makes, so `explain` cannot disagree with the worker about a rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.gather import GatherUpsert
from schemas.tenant import (
    AccountsSection,
    Condition,
    ContactsSection,
    CustomObjectSection,
    Filter,
    SyncMode,
    TenantConfig,
)
from streams.explain.model import FieldState, RecordView, Step, StoreRow, when
from streams.merge import RecordState
from streams.rules.entities import Section, Skip, outcome, section_of
from streams.rules.filters import holds


@dataclass(frozen=True)
class Inputs:
    """Everything the rules read for one record (the deals and account rows may be empty)."""

    config: TenantConfig | None
    object: str
    record_id: str
    state: RecordState | None
    types: Mapping[str, str]  # the object's describe types from sf.schemas
    deals: Mapping[str, bool] = field(default_factory=dict)  # an account's opportunities: won?
    account_rows: list[StoreRow] = field(default_factory=list)  # a contact's linked account


def record_view(state: RecordState) -> RecordView:
    fields = [
        FieldState(name=name, value=held.value, version=held.version.encode())
        for name, held in sorted(state.fields.items())
    ]
    version = state.version.encode() if state.version else None
    return RecordView(fields=fields, deleted=state.is_deleted, version=version)


def decide(inputs: Inputs) -> GatherUpsert | Skip | None:
    """What the worker's rules give for the record now (None: nothing syncs it)."""
    if inputs.config is None or inputs.state is None:
        return None
    return outcome(inputs.config, inputs.state, inputs.types, lambda: any(inputs.deals.values()))


def steps(inputs: Inputs) -> list[Step]:
    """The rules in the order the worker applies them (an empty list: nothing to apply)."""
    if inputs.config is None:
        return [
            Step(rule="tenant", detail="not applied (gather.tenants has no config)", passed=False)
        ]
    section = section_of(inputs.config, inputs.object)
    if section is None:
        return [Step(rule="section", detail=f"the config syncs no {inputs.object}", passed=False)]
    if inputs.state is None:
        return [_section_step(section)]
    state = inputs.state
    found = [_section_step(section), _identity_step(section, state)]
    if state.is_deleted:
        assert state.deleted is not None
        found.append(
            Step(rule="deleted", detail=f"in Salesforce, at {when(state.deleted.version.encode())}")
        )
    found += filter_steps(section.filter, state.values(), inputs.types)
    if isinstance(section, AccountsSection) and section.closed_won_only:
        found.append(closed_won_step(inputs.deals))
    if isinstance(section, ContactsSection):
        found.append(link_step(state, inputs.account_rows))
    return found


def _section_step(section: Section) -> Step:
    if isinstance(section, CustomObjectSection):
        return Step(rule="section", detail=f"custom object, synced to model {section.model!r}")
    kind = "accounts" if isinstance(section, AccountsSection) else "contacts, as Gather users"
    return Step(rule="section", detail=f"{kind}, sync mode {section.sync_mode.value}")


def _identity_step(section: Section, state: RecordState) -> Step:
    if isinstance(section, CustomObjectSection) or section.sync_mode is SyncMode.CREATE_NEW:
        id_field = section.id_field
        assert id_field is not None
        value = state.record_id if id_field == "Id" else state.values().get(id_field)
        present = value is not None and str(value).strip() != ""
        detail = f"id field {id_field} = {value!r}" + ("" if present else " (empty: no Gather id)")
        return Step(rule="id", detail=detail, passed=present)
    detail = f"the Gather entity whose trait {section.match_trait!r} = {state.record_id!r}"
    return Step(rule="match", detail=detail)


def filter_steps(
    rule: Filter | None, values: Mapping[str, Any], types: Mapping[str, str]
) -> list[Step]:
    if rule is None:
        return [Step(rule="filter", detail="none: every record syncs", passed=True)]
    lines = [condition_step(c, values.get(c.field), types.get(c.field)) for c in rule.conditions]
    results = [line.passed for line in lines]
    if any(r is None for r in results):
        passed = None  # a type is not known yet: the worker waits instead of guessing
    else:
        passed = all(results) if rule.match == "all" else any(results)
    header = Step(rule="filter", detail=f"{rule.match} of {len(lines)} conditions", passed=passed)
    return [header, *lines]


def condition_step(condition: Condition, value: Any, field_type: str | None) -> Step:
    wanted = "" if condition.value is None else f" {condition.value!r}"
    said = f"{condition.field} {condition.operator.value}{wanted}"
    if field_type is None:
        return Step(rule="condition", detail=f"{said}: no describe type yet (the record waits)")
    passed = holds(condition, value, field_type)
    return Step(rule="condition", detail=f"{said}: {field_type} value {value!r}", passed=passed)


def closed_won_step(deals: Mapping[str, bool]) -> Step:
    if not deals:
        return Step(rule="closed won", detail="no opportunity of this account seen", passed=False)
    listed = ", ".join(f"{d} {'won' if w else 'not won'}" for d, w in sorted(deals.items()))
    return Step(rule="closed won", detail=listed, passed=any(deals.values()))


def link_step(state: RecordState, account_rows: list[StoreRow]) -> Step:
    link = state.fields.get("AccountId")
    if link is None or not link.value:
        return Step(rule="account", detail="AccountId is empty: the user is in no account")
    live = [row for row in account_rows if not row.deleted]
    where = f"Gather account {live[0].id!r}" if live else "no Gather account with that id yet"
    return Step(
        rule="account", detail=f"AccountId = {link.value!r}: {where}", passed=True if live else None
    )
