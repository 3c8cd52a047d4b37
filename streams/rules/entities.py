"""Accounts, contacts and custom objects: a record's state -> what the sink should write.

The result is an upsert carrying every trait the rule syncs (each with its own version, so the
sink keeps whichever is newer), a delete, or a `Skip` saying why nothing is written. A record
that stops matching its filter is skipped, not deleted; one that starts matching sends all of
its traits at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.gather import EntityKind, GatherUpsert, Operation, Target
from schemas.tenant import (
    ACCOUNT_DEFAULT_FIELDS,
    CONTACT_DEFAULT_FIELDS,
    AccountsSection,
    ContactsSection,
    CustomObjectSection,
    SyncMode,
)
from schemas.versions import Version
from streams.merge import RecordState
from streams.rules.filters import matches
from streams.rules.traits import all_traits, traits

Types = dict[str, str]


@dataclass(frozen=True)
class Skip:
    reason: str  # "filtered", "not_closed_won", "no_id", "unseen"


Outcome = GatherUpsert | Skip


def account(
    tenant: str, section: AccountsSection, state: RecordState, types: Types, closed_won: bool
) -> Outcome:
    if section.closed_won_only and not closed_won and not state.is_deleted:
        return Skip("not_closed_won")
    fields = [*ACCOUNT_DEFAULT_FIELDS, *section.extra_traits]
    return _entity(tenant, EntityKind.ACCOUNT, section, state, types, fields)


def contact(tenant: str, section: ContactsSection, state: RecordState, types: Types) -> Outcome:
    fields = [*CONTACT_DEFAULT_FIELDS, *section.extra_traits]
    outcome = _entity(tenant, EntityKind.USER, section, state, types, fields)
    link = state.fields.get("AccountId")
    if isinstance(outcome, GatherUpsert) and link is not None and outcome.op is Operation.UPSERT:
        sf_account = str(link.value) if link.value else None
        return outcome.model_copy(
            update={"account_sf_id": sf_account, "account_version": link.version}
        )
    return outcome


def custom_record(
    tenant: str, section: CustomObjectSection, state: RecordState, types: Types
) -> Outcome:
    if state.version is None or _liveness(state) is None:
        return Skip("unseen")
    gather_id = _text(state, section.id_field)
    if gather_id is None:
        return Skip("no_id")
    if state.is_deleted:
        return _delete(
            tenant, EntityKind.RECORD, state, Target.CREATE, gather_id, None, section.model
        )
    if not matches(section.filter, state.values(), types):
        return Skip("filtered")
    values, versions = all_traits(state)
    return GatherUpsert(
        tenant=tenant,
        kind=EntityKind.RECORD,
        sf_id=state.record_id,
        op=Operation.UPSERT,
        version=_liveness(state),
        gather_id=gather_id,
        model=section.model,
        traits=values,
        trait_versions=versions,
    )


def _entity(
    tenant: str,
    kind: EntityKind,
    section: AccountsSection | ContactsSection,
    state: RecordState,
    types: Types,
    fields: list[str],
) -> Outcome:
    liveness = _liveness(state)
    if liveness is None:
        return Skip("unseen")
    target, gather_id, match = _target(section, state)
    if target is Target.CREATE and gather_id is None:
        return Skip("no_id")
    if state.is_deleted:
        return _delete(tenant, kind, state, target, gather_id, match, None)
    if not matches(section.filter, state.values(), types):
        return Skip("filtered")
    values, versions = traits(fields, state)
    return GatherUpsert(
        tenant=tenant,
        kind=kind,
        sf_id=state.record_id,
        op=Operation.UPSERT,
        version=liveness,
        target=target,
        gather_id=gather_id,
        match_trait=match,
        traits=values,
        trait_versions=versions,
    )


def _target(
    section: AccountsSection | ContactsSection, state: RecordState
) -> tuple[Target, str | None, str | None]:
    if section.sync_mode is SyncMode.CREATE_NEW:
        assert section.id_field is not None
        return Target.CREATE, _text(state, section.id_field), None
    return Target.MATCH, None, section.match_trait


def _delete(
    tenant: str,
    kind: EntityKind,
    state: RecordState,
    target: Target,
    gather_id: str | None,
    match: str | None,
    model: str | None,
) -> GatherUpsert:
    assert state.deleted is not None
    return GatherUpsert(
        tenant=tenant,
        kind=kind,
        sf_id=state.record_id,
        op=Operation.DELETE,
        version=state.deleted.version,
        target=target,
        gather_id=gather_id,
        match_trait=match,
        model=model,
    )


def _liveness(state: RecordState) -> Version | None:
    return state.deleted.version if state.deleted else None


def _text(state: RecordState, field: str) -> str | None:
    if field == "Id":
        return state.record_id
    found = state.fields.get(field)
    if found is None or found.value is None or str(found.value).strip() == "":
        return None
    return str(found.value)
