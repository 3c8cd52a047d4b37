"""Accounts, contacts and custom objects: a record's state -> what the sink should write.

The result is an upsert carrying every trait the rule syncs (each with its own version, so the
sink keeps whichever is newer), a delete, or a `Skip` saying why nothing is written. A record
that stops matching its filter is skipped, not deleted; one that starts matching sends all of
its traits at once.

In create mode a record's Gather id is its id field's value, so the row lives under that value
from the moment the field got it: the upsert's liveness version is the newer of the record's
and the id field's, and when the value moves (`id_moves`), the row under the old value is
marked deleted (reason `id_changed`) at the version of the move, so X -> Y -> X revives X.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from schemas.gather import DeleteReason, EntityKind, GatherUpsert, Operation, Target
from schemas.tenant import (
    ACCOUNT_DEFAULT_FIELDS,
    CONTACT_DEFAULT_FIELDS,
    AccountsSection,
    ContactsSection,
    CustomObjectSection,
    SyncMode,
    TenantConfig,
)
from schemas.versions import Version
from streams.merge import RecordState
from streams.rules.filters import matches
from streams.rules.traits import all_traits, traits

Types = Mapping[str, str]
Section = AccountsSection | ContactsSection | CustomObjectSection


@dataclass(frozen=True)
class Skip:
    """Nothing of the record is written, for `reason`: "filtered", "not_closed_won",
    "types_unknown", "no_id" or "unseen". A live record skipped by a rule that was once
    deleted carries `revive`, an UNDELETE of its row: the deleted mark follows Salesforce, not
    the rules, so an undelete clears it even while the record does not match (its traits stay
    as last synced; the sink creates no row for it)."""

    reason: str
    revive: GatherUpsert | None = None


Outcome = GatherUpsert | Skip


def section_of(config: TenantConfig, obj: str) -> Section | None:
    """The config's section that syncs an object, if any."""
    if obj == "Account" and config.accounts:
        return config.accounts
    if obj == "Contact" and config.contacts:
        return config.contacts
    return next((c for c in config.custom_objects if c.object == obj), None)


def outcome(
    config: TenantConfig, state: RecordState, types: Types, closed_won: Callable[[], bool]
) -> Outcome | None:
    """What the config's rules give for the record (None: no section syncs its object);
    `closed_won` is asked only for an account, as it reads the account's deals."""
    section = section_of(config, state.object)
    if isinstance(section, AccountsSection):
        return account(config.tenant, section, state, types, closed_won())
    if isinstance(section, ContactsSection):
        return contact(config.tenant, section, state, types)
    if isinstance(section, CustomObjectSection):
        return custom_record(config.tenant, section, state, types)
    return None


def account(
    tenant: str, section: AccountsSection, state: RecordState, types: Types, closed_won: bool
) -> Outcome:
    held = "not_closed_won" if section.closed_won_only and not closed_won else None
    fields = [*ACCOUNT_DEFAULT_FIELDS, *section.extra_traits]
    return _entity(tenant, EntityKind.ACCOUNT, section, state, types, fields, held)


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
    liveness = _liveness(state, section.id_field)
    if state.version is None or liveness is None:
        return Skip("unseen")
    gather_id = _text(state, section.id_field)
    if gather_id is None:
        return Skip("no_id")
    mark = _Mark(tenant, EntityKind.RECORD, state, Target.CREATE, gather_id, None, section.model)
    if state.is_deleted:
        return mark.delete()
    if (held := _held(section, state, types)) is not None:
        return Skip(held, mark.revive(liveness))
    values, versions = all_traits(state)
    return GatherUpsert(
        tenant=tenant,
        kind=EntityKind.RECORD,
        sf_id=state.record_id,
        op=Operation.UPSERT,
        version=liveness,
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
    held: str | None = None,
) -> Outcome:
    """`held`: a reason the section's own rule (closed won) holds the record back."""
    target, gather_id, match = _target(section, state)
    liveness = _liveness(state, section.id_field if target is Target.CREATE else None)
    if liveness is None:
        return Skip("unseen")
    if target is Target.CREATE and gather_id is None:
        return Skip("no_id")
    mark = _Mark(tenant, kind, state, target, gather_id, match, None)
    if state.is_deleted:
        return mark.delete()
    if (held := held or _held(section, state, types)) is not None:
        return Skip(held, mark.revive(liveness))
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


@dataclass(frozen=True)
class _Mark:
    """Where a record's row is, to mark it deleted or revive it."""

    tenant: str
    kind: EntityKind
    state: RecordState
    target: Target
    gather_id: str | None
    match: str | None
    model: str | None

    def delete(self) -> GatherUpsert:
        assert self.state.deleted is not None
        return self.message(Operation.DELETE, self.state.deleted.version, DeleteReason.DELETED)

    def revive(self, liveness: Version) -> GatherUpsert | None:
        """An UNDELETE for a record that was ever deleted (others have no row to revive)."""
        if self.state.last_delete is None:
            return None
        return self.message(Operation.UNDELETE, liveness, None)

    def message(self, op: Operation, version: Version, reason: DeleteReason | None) -> GatherUpsert:
        return GatherUpsert(
            tenant=self.tenant,
            kind=self.kind,
            sf_id=self.state.record_id,
            op=op,
            version=version,
            target=self.target,
            gather_id=self.gather_id,
            match_trait=self.match,
            model=self.model,
            delete_reason=reason,
        )


def _held(section: Section, state: RecordState, types: Types) -> str | None:
    """Why the section's filter holds a live record back, if it does."""
    if not _typed(section, types):
        return "types_unknown"
    return None if matches(section.filter, state.values(), types) else "filtered"


def _typed(section: Section, types: Types) -> bool:
    """Every filtered field has a describe type: a record waits rather than being compared with
    a guessed type (the worker re-evaluates it when the types arrive)."""
    return section.filter is None or all(c.field in types for c in section.filter.conditions)


def _liveness(state: RecordState, id_field: str | None = None) -> Version | None:
    """The record's liveness version; in create mode no older than its id field's value."""
    if state.deleted is None:
        return None
    held = state.fields.get(id_field) if id_field else None
    if held is None or held.version.as_tuple() <= state.deleted.version.as_tuple():
        return state.deleted.version
    return held.version


def id_moves(
    config: TenantConfig, before: RecordState | None, state: RecordState
) -> list[GatherUpsert]:
    """Create mode: the row under the id field's old value, marked deleted when the value moved
    (to another value, or to empty), at the version of the value that replaced it."""
    found = _create_section(config, state.object)
    if before is None or found is None:
        return []
    kind, section, model = found
    assert section.id_field is not None
    old, new = _text(before, section.id_field), _text(state, section.id_field)
    moved = state.fields.get(section.id_field)
    if old is None or old == new or moved is None:
        return []
    mark = _Mark(config.tenant, kind, state, Target.CREATE, old, None, model)
    return [mark.message(Operation.DELETE, moved.version, DeleteReason.ID_CHANGED)]


def _create_section(
    config: TenantConfig, obj: str
) -> tuple[EntityKind, Section, str | None] | None:
    """The config's create-mode section of an object: its kind, the section, a model's name."""
    if obj == "Account" and config.accounts and config.accounts.sync_mode is SyncMode.CREATE_NEW:
        return EntityKind.ACCOUNT, config.accounts, None
    if obj == "Contact" and config.contacts and config.contacts.sync_mode is SyncMode.CREATE_NEW:
        return EntityKind.USER, config.contacts, None
    custom = next((c for c in config.custom_objects if c.object == obj), None)
    return (EntityKind.RECORD, custom, custom.model) if custom else None


def _text(state: RecordState, field: str) -> str | None:
    if field == "Id":
        return state.record_id
    found = state.fields.get(field)
    if found is None or found.value is None or str(found.value).strip() == "":
        return None
    return str(found.value)
