"""`gather.accounts`, `gather.users`, `gather.records`: what the rules ask the sink to write.

The sink applies these idempotently and monotonically: a trait is written only when its version
is newer than the stored one, so replays and duplicates change nothing.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.changes import FieldValue
from schemas.contract import upsert_key
from schemas.names import (
    NonEmptyStr,
    WireModelName,
    WireSalesforceId,
    WireTenantId,
    WireTraitName,
)
from schemas.versions import Version

# A trait is a field's value, or a compound composed from parts (billing_address).
TraitValue = FieldValue | dict[str, FieldValue]


class EntityKind(StrEnum):
    ACCOUNT = "account"
    USER = "user"
    RECORD = "record"


class Operation(StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"
    UNDELETE = "undelete"


class DeleteReason(StrEnum):
    """Why a row is marked deleted."""

    DELETED = "deleted"  # the record was deleted in Salesforce
    ID_CHANGED = "id_changed"  # create mode: the record's id field moved it to another Gather id


class Target(StrEnum):
    """How the sink finds the row: by Gather id (create mode) or by a trait (update-existing)."""

    CREATE = "create"
    MATCH = "match"


class GatherUpsert(BaseModel):
    """An upsert or delete of one Gather account, user or custom-model record.

    `version` is the record's liveness version: an upsert revives a row only when it is newer
    than the row's delete, and a delete wins only over older upserts.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: WireTenantId
    kind: EntityKind
    sf_id: WireSalesforceId
    op: Operation
    version: Version = Field(description="version of the change that produced this message")
    target: Target = Target.CREATE
    gather_id: NonEmptyStr | None = Field(default=None, description="the row id in create mode")
    match_trait: WireTraitName | None = Field(
        default=None, description="update-existing: the trait whose value equals sf_id"
    )
    model: WireModelName | None = Field(default=None, description="the model of a custom record")
    delete_reason: DeleteReason | None = Field(
        default=None,
        description="a delete's reason (None on a delete written before reasons: 'deleted'); "
        "None on upserts",
    )
    traits: dict[WireTraitName, TraitValue] = Field(default_factory=dict)
    trait_versions: dict[WireTraitName, Version] = Field(default_factory=dict)
    account_sf_id: WireSalesforceId | None = Field(
        default=None,
        description="a user's Salesforce AccountId; the sink links the user to "
        "the Gather account with that sf_id, whichever of the two arrives first",
    )
    account_version: Version | None = Field(
        default=None, description="version of the AccountId value (the link moves only forward)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> GatherUpsert:
        if self.target is Target.CREATE and self.gather_id is None:
            raise ValueError("target 'create' needs gather_id")
        if self.target is Target.MATCH and self.match_trait is None:
            raise ValueError("target 'match' needs match_trait")
        if (self.kind is EntityKind.RECORD) != (self.model is not None):
            raise ValueError("model is set exactly when kind is 'record'")
        if self.op is not Operation.DELETE and self.delete_reason is not None:
            raise ValueError("delete_reason is set only when op is 'delete'")
        if missing := set(self.traits) - set(self.trait_versions):
            raise ValueError(f"traits without a version: {sorted(missing)}")
        return self

    @property
    def key(self) -> str:
        """The Kafka key of the Gather topics: every message of one record in one partition."""
        return upsert_key(self.tenant, self.kind.value, self.sf_id)
