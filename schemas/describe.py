"""`sf.schemas`: an object's fields and their describe types, as the listener read them.

The worker compares filter values by these types (a number as a number, a date as an instant),
so rules never run on guessed types. The listener writes one message per tenant and object when it
subscribes, and again when a change carries a field the last describe lacked.
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from schemas.contract import schema_key
from schemas.names import FieldName, SObjectName, TenantId

# describe `type` values the rules compare by kind; any other type compares as text
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent", "long"})
INSTANT_TYPES = frozenset({"date", "datetime"})
BOOLEAN_TYPES = frozenset({"boolean"})


class ObjectSchema(BaseModel):
    """One object's queryable fields and their describe types for one tenant's org."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: TenantId
    object: SObjectName
    fields: dict[FieldName, str] = Field(description="field name -> describe type")
    read_at: datetime = Field(description="when describe was read")

    @property
    def key(self) -> str:
        return schema_key(self.tenant, self.object)

    def digest(self) -> str:
        """Changes only when a field or a type changes (not with `read_at`)."""
        return hashlib.sha256(json.dumps(self.fields, sort_keys=True).encode()).hexdigest()
