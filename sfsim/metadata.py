"""Object and field metadata: what `describe` returns and what writes are checked against.

Standard objects carry the fields the project syncs and filters on; custom objects (and custom
fields on standard objects) come from a schema file. Field types are Salesforce's describe types:
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/field_types.htm
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sfsim.errors import SchemaFileError

FIELD_TYPES = {
    "id",
    "string",
    "textarea",
    "phone",
    "url",
    "email",
    "picklist",
    "multipicklist",
    "reference",
    "int",
    "double",
    "currency",
    "percent",
    "date",
    "datetime",
    "boolean",
    "address",
}
ADDRESS_PARTS = ("Street", "City", "State", "PostalCode", "Country", "Latitude", "Longitude")


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    label: str = ""
    updateable: bool = True
    createable: bool = True
    nillable: bool = True
    compound_field_name: str | None = None
    reference_to: tuple[str, ...] = ()
    picklist_values: tuple[str, ...] = ()
    custom: bool = False

    def describe(self) -> dict[str, Any]:
        """The subset of a describe field entry that clients read."""
        return {
            "name": self.name,
            "type": self.type,
            "label": self.label or self.name,
            "updateable": self.updateable,
            "createable": self.createable,
            "nillable": self.nillable,
            "custom": self.custom,
            "compoundFieldName": self.compound_field_name,
            "referenceTo": list(self.reference_to),
            "picklistValues": [
                {"value": v, "label": v, "active": True, "defaultValue": False}
                for v in self.picklist_values
            ],
        }


@dataclass(frozen=True)
class ObjectDef:
    name: str
    label: str
    key_prefix: str
    fields: dict[str, FieldDef]
    custom: bool = False
    # Compound fields -> their parts, in Salesforce's order (BillingAddress -> BillingStreet, ...).
    compounds: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def change_event_name(self) -> str:
        """`AccountChangeEvent`; `Employee__c` -> `Employee__ChangeEvent`."""
        return (self.name[:-3] + "__ChangeEvent") if self.custom else self.name + "ChangeEvent"

    def field_ci(self, name: str) -> FieldDef | None:
        """Field lookup as Salesforce does it: case-insensitive."""
        found = self.fields.get(name)
        if found is None:
            lowered = name.lower()
            found = next((f for n, f in self.fields.items() if n.lower() == lowered), None)
        return found

    def types(self) -> dict[str, str]:
        return {name: f.type for name, f in self.fields.items()}


def _f(name: str, type_: str, **kw: Any) -> FieldDef:
    return FieldDef(name=name, type=type_, label=kw.pop("label", name), **kw)


def _system_fields() -> list[FieldDef]:
    ro = {"updateable": False, "createable": False}
    return [
        _f("Id", "id", nillable=False, **ro),
        _f("IsDeleted", "boolean", nillable=False, **ro),
        _f("CreatedDate", "datetime", nillable=False, **ro),
        _f("CreatedById", "reference", reference_to=("User",), **ro),
        _f("LastModifiedDate", "datetime", nillable=False, **ro),
        _f("LastModifiedById", "reference", reference_to=("User",), **ro),
        _f("SystemModstamp", "datetime", nillable=False, **ro),
        _f("OwnerId", "reference", reference_to=("User",)),
    ]


def _address(prefix: str) -> list[FieldDef]:
    compound = f"{prefix}Address"
    parts = [
        _f(
            f"{prefix}{p}",
            "double"
            if p in ("Latitude", "Longitude")
            else ("textarea" if p == "Street" else "string"),
            compound_field_name=compound,
        )
        for p in ADDRESS_PARTS
    ]
    return [*parts, _f(compound, "address", updateable=False, createable=False)]


INDUSTRIES = (
    "Agriculture",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Finance",
    "Healthcare",
    "Insurance",
    "Manufacturing",
    "Media",
    "Retail",
    "Technology",
    "Telecommunications",
    "Transportation",
)
# Default sales process stages and whether each is closed / won.
# https://help.salesforce.com/s/articleView?id=sf.opportunity_stages.htm
STAGES: dict[str, tuple[bool, bool]] = {
    "Prospecting": (False, False),
    "Qualification": (False, False),
    "Needs Analysis": (False, False),
    "Value Proposition": (False, False),
    "Id. Decision Makers": (False, False),
    "Perception Analysis": (False, False),
    "Proposal/Price Quote": (False, False),
    "Negotiation/Review": (False, False),
    "Closed Won": (True, True),
    "Closed Lost": (True, False),
}


def _account() -> ObjectDef:
    fields = [
        *_system_fields(),
        _f("Name", "string", nillable=False),
        _f("AccountNumber", "string"),
        _f("Type", "picklist", picklist_values=("Prospect", "Customer - Direct", "Partner")),
        _f("ParentId", "reference", reference_to=("Account",)),
        *_address("Billing"),
        *_address("Shipping"),
        _f("Phone", "phone"),
        _f("Fax", "phone"),
        _f("Website", "url"),
        _f("Industry", "picklist", picklist_values=INDUSTRIES),
        _f("AnnualRevenue", "currency"),
        _f("NumberOfEmployees", "int"),
        _f("Description", "textarea"),
        _f("YearStarted", "string"),
        _f("Rating", "picklist", picklist_values=("Hot", "Warm", "Cold")),
    ]
    return _object("Account", "Account", "001", fields)


def _contact() -> ObjectDef:
    fields = [
        *_system_fields(),
        _f("AccountId", "reference", reference_to=("Account",)),
        _f(
            "Salutation",
            "picklist",
            picklist_values=("Mr.", "Ms.", "Mrs.", "Dr.", "Prof."),
            compound_field_name="Name",
        ),
        _f("FirstName", "string", compound_field_name="Name"),
        _f("LastName", "string", nillable=False, compound_field_name="Name"),
        _f("Name", "string", updateable=False, createable=False),
        *_address("Mailing"),
        _f("Phone", "phone"),
        _f("MobilePhone", "phone"),
        _f("Email", "email"),
        _f("Title", "string"),
        _f("Department", "string"),
        _f("LeadSource", "picklist", picklist_values=("Web", "Phone Inquiry", "Partner Referral")),
        _f("Birthdate", "date"),
        _f("Description", "textarea"),
    ]
    return _object("Contact", "Contact", "003", fields)


def _opportunity() -> ObjectDef:
    ro = {"updateable": False, "createable": False}
    fields = [
        *_system_fields(),
        _f("AccountId", "reference", reference_to=("Account",)),
        _f("Name", "string", nillable=False),
        _f("Description", "textarea"),
        _f("StageName", "picklist", nillable=False, picklist_values=tuple(STAGES)),
        _f("Amount", "currency"),
        _f("Probability", "percent"),
        _f("CloseDate", "date", nillable=False),
        _f("Type", "picklist", picklist_values=("New Customer", "Existing Customer - Upgrade")),
        _f("IsClosed", "boolean", nillable=False, **ro),
        _f("IsWon", "boolean", nillable=False, **ro),
    ]
    return _object("Opportunity", "Opportunity", "006", fields)


def _object(
    name: str, label: str, prefix: str, fields: list[FieldDef], custom: bool = False
) -> ObjectDef:
    by_name = {f.name: f for f in fields}
    compounds: dict[str, list[str]] = {}
    for f in fields:
        if f.compound_field_name:
            compounds.setdefault(f.compound_field_name, []).append(f.name)
    return ObjectDef(
        name, label, prefix, by_name, custom, {k: tuple(v) for k, v in compounds.items()}
    )


@dataclass(frozen=True)
class OrgSchema:
    objects: dict[str, ObjectDef]

    def get(self, name: str) -> ObjectDef | None:
        found = self.objects.get(name)
        return found or next(
            (o for n, o in self.objects.items() if n.lower() == name.lower()), None
        )

    def with_field(self, obj_name: str, new: FieldDef) -> OrgSchema:
        """This schema with one more field on an object (Setup's "New Field")."""
        base = self.objects[obj_name]
        extended = _object(
            base.name, base.label, base.key_prefix, [*base.fields.values(), new], base.custom
        )
        return OrgSchema(self.objects | {base.name: extended})


def standard_schema() -> OrgSchema:
    return OrgSchema({o.name: o for o in (_account(), _contact(), _opportunity())})


def load_schema(path: Path | None) -> OrgSchema:
    """The standard objects plus what a schema file declares:

    ```yaml
    objects:                      # custom objects
      - {name: Invoice__c, label: Invoice, fields: [{name: Amount__c, type: currency}]}
    extend:                       # custom fields on standard objects
      Account: [{name: Tier__c, type: picklist, picklist_values: [Gold, Silver]}]
    ```
    """
    schema = standard_schema()
    if path is None:
        return schema
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise SchemaFileError(f"{path}: cannot read the schema file: {e}") from e
    objects = dict(schema.objects)
    for obj, extra in (document.get("extend") or {}).items():
        objects[obj] = _extend(objects, obj, extra, path)
    for n, spec in enumerate(document.get("objects") or []):
        custom = _custom_object(spec, f"a{n:02d}", path)
        objects[custom.name] = custom
    return OrgSchema(objects)


def _extend(
    objects: dict[str, ObjectDef], name: str, extra: list[dict[str, Any]], path: Path
) -> ObjectDef:
    if name not in objects:
        raise SchemaFileError(f"{path}: extend.{name}: no such standard object")
    base = objects[name]
    fields = [*base.fields.values(), *(custom_field(spec, path) for spec in extra)]
    return _object(base.name, base.label, base.key_prefix, fields)


def _custom_object(spec: dict[str, Any], prefix: str, path: Path) -> ObjectDef:
    name = str(spec.get("name", ""))
    if not name.endswith("__c"):
        raise SchemaFileError(f"{path}: custom object {name!r}: its name must end in __c")
    fields = [
        *_system_fields(),
        _f("Name", "string", nillable=False),
        *(custom_field(f, path) for f in spec.get("fields") or []),
    ]
    return _object(name, str(spec.get("label", name)), prefix, fields, custom=True)


def custom_field(spec: dict[str, Any], where: Path | str) -> FieldDef:
    """A custom field from its spec (`{name, type, label?, reference_to?, picklist_values?}`);
    `where` names the file or request it came from, for the error."""
    name, type_ = str(spec.get("name", "")), str(spec.get("type", ""))
    if not name.endswith("__c") or type_ not in FIELD_TYPES:
        raise SchemaFileError(
            f"{where}: field {name!r}: a custom field needs a name ending in __c "
            f"and a type among {sorted(FIELD_TYPES)}"
        )
    return _f(
        name,
        type_,
        label=str(spec.get("label", name)),
        custom=True,
        reference_to=tuple(spec.get("reference_to", ())),
        picklist_values=tuple(spec.get("picklist_values", ())),
    )
