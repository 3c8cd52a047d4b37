"""`sf.changes`: one change of one Salesforce record, as the listener publishes it.

A CDC event naming several `recordIds` is fanned out to one of these per record; compound fields
are flattened to the object's own field names (`BillingAddress.Street` -> `BillingStreet`), so a
CDC delta and a REST snapshot of the same record merge field by field.
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.contract import change_key
from schemas.names import FieldName, SalesforceId, SObjectName, TenantId
from schemas.versions import Version

FieldValue = str | int | float | bool | None


class ChangeType(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    UNDELETE = "UNDELETE"
    # The full current state read over REST or Bulk (backfill, gap re-fetch, overflow resync).
    SNAPSHOT = "SNAPSHOT"


class ChangeSource(StrEnum):
    CDC = "cdc"
    BACKFILL = "backfill"
    GAP_REFETCH = "gap_refetch"
    RESYNC = "resync"


class SalesforceChange(BaseModel):
    """One change of one record. Values are flattened; every value shares `version`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: TenantId
    object: SObjectName
    record_id: SalesforceId
    change_type: ChangeType
    version: Version
    fields: dict[FieldName, FieldValue] = Field(default_factory=dict)
    changed_fields: list[FieldName] = Field(
        default_factory=list,
        description="for UPDATE: the fields this change set (nulls included); empty otherwise",
    )
    source: ChangeSource = ChangeSource.CDC
    replay_id: int | None = Field(default=None, description="CometD replay id of the CDC event")
    transaction_key: str | None = None
    commit_user: str | None = None

    @model_validator(mode="after")
    def _deletes_carry_no_fields(self) -> SalesforceChange:
        if self.change_type is ChangeType.DELETE and self.fields:
            raise ValueError("a DELETE change carries no field values")
        return self

    @property
    def key(self) -> str:
        """The Kafka key of `sf.changes`: all changes of one record land in one partition."""
        return change_key(self.tenant, self.object, self.record_id)
