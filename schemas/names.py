"""Constrained names used in keys, configs and rows, each with an error message that says the fix.

Tenant ids end up inside Kafka keys (`tenant:Object:Id`), so they may not contain ':'.
Salesforce API names follow https://help.salesforce.com/s/articleView?id=sf.custom_field_attributes.htm
(letters, digits and single underscores; custom names end in `__c`).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

_TENANT = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_API_NAME = re.compile(
    r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*(?:__[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*)*"
)
_SF_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_MODEL = re.compile(r"[a-z][a-z0-9_]{0,62}")
_TRAIT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def _matches(pattern: re.Pattern[str], explain: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not valid: {explain}")
        return value

    return AfterValidator(check)


TenantId = Annotated[
    str,
    _matches(
        _TENANT, "use 1-63 lowercase letters, digits and '-', starting with a letter or digit"
    ),
]
SObjectName = Annotated[
    str,
    _matches(_API_NAME, "use the object's API name, e.g. 'Account' or 'Invoice__c'"),
]
FieldName = Annotated[
    str,
    _matches(_API_NAME, "use the field's API name, e.g. 'AnnualRevenue' or 'Tier__c'"),
]
SalesforceId = Annotated[
    str,
    _matches(_SF_ID, "a Salesforce record id has 15 or 18 letters and digits"),
]
ModelName = Annotated[
    str,
    _matches(_MODEL, "use 1-63 lowercase letters, digits and '_', starting with a letter"),
]
TraitName = Annotated[
    str,
    _matches(_TRAIT, "use letters, digits and '_' (at most 128), not starting with a digit"),
]
NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]


# The same names in the messages the stages exchange (changes, upserts), checked by pydantic's
# compiled pattern: one message holds dozens of names and the sink and the worker parse
# thousands a second, where a Python check per name was 5-9% of their profiles. A wire name is
# written by our own stages from names the config already checked, so its error (a DLQ reason)
# names the pattern rather than the fix.
def _wire(pattern: re.Pattern[str]) -> StringConstraints:
    return StringConstraints(pattern=f"^(?:{pattern.pattern})$")


WireTenantId = Annotated[str, _wire(_TENANT)]
WireFieldName = Annotated[str, _wire(_API_NAME)]
WireSalesforceId = Annotated[str, _wire(_SF_ID)]
WireModelName = Annotated[str, _wire(_MODEL)]
WireTraitName = Annotated[str, _wire(_TRAIT)]

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(api_name: str) -> str:
    """A Salesforce field API name as a Gather trait name.

    `NumberOfEmployees` -> `number_of_employees`, `BillingAddress` -> `billing_address`,
    `SLAExpirationDate__c` -> `sla_expiration_date_c`, `ns__Tier_Level__c` -> `ns_tier_level_c`.
    Words split at case changes and runs of underscores collapse to one. A custom field keeps its
    suffix as `_c`, so a standard `Tier` and a custom `Tier__c` never collide in one trait.
    """
    name = _WORD_BOUNDARY.sub("_", api_name).lower()
    return re.sub(r"_+", "_", name).strip("_")
