"""The tenant config: the product guide's settings (spec/salesforce-installation.md) as a contract.

One YAML document per tenant. It holds secret *references* only (`{env: NAME}` or
`{file: PATH}`), so a config can be published to the `gather.tenants` topic and logged safely.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AnyUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from schemas.names import (
    FieldName,
    ModelName,
    NonEmptyStr,
    SObjectName,
    TenantId,
    TraitName,
    snake_case,
)

ACCOUNT_DEFAULT_FIELDS = (
    "Name",
    "Phone",
    "Description",
    "Industry",
    "BillingAddress",
    "Website",
    "YearStarted",
    "NumberOfEmployees",
)
CONTACT_DEFAULT_FIELDS = ("Id", "FirstName", "LastName", "Email", "Phone")
# Objects with a section of their own; a custom-object entry for them would sync them twice.
RESERVED_OBJECTS = {"Account": "accounts", "Contact": "contacts"}


class ConfigModel(BaseModel):
    """Frozen; unknown keys are refused (the loader adds a did-you-mean), never ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --- Salesforce connection ---------------------------------------------------------------------


def _refuse_literal_secret(value: Any) -> Any:
    if isinstance(value, str):
        raise PydanticCustomError(
            "literal_secret",
            "a secret is never written in the config; reference it as {env: VAR_NAME} "
            "or {file: /path/to/secret}",
        )
    return value


class SecretRef(ConfigModel):
    """Where a secret lives: an environment variable or a file (a mounted Kubernetes secret)."""

    env: Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")] | None = Field(
        default=None, description="name of the environment variable holding the secret"
    )
    file: NonEmptyStr | None = Field(default=None, description="path of a file holding the secret")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self


Secret = Annotated[SecretRef, BeforeValidator(_refuse_literal_secret)]


class ClientCredentialsAuth(ConfigModel):
    """OAuth 2.0 client credentials flow (a connected app with a run-as user)."""

    flow: Literal["client_credentials"]
    client_id: NonEmptyStr
    client_secret: Secret


class JwtBearerAuth(ConfigModel):
    """OAuth 2.0 JWT bearer flow: a connected app's certificate and a pre-authorised user."""

    flow: Literal["jwt_bearer"]
    client_id: NonEmptyStr
    username: NonEmptyStr
    private_key: Secret


class RefreshTokenAuth(ConfigModel):
    """OAuth 2.0 refresh token flow, with a token issued once by an admin."""

    flow: Literal["refresh_token"]
    client_id: NonEmptyStr
    client_secret: Secret | None = None
    refresh_token: Secret


class UsernamePasswordAuth(ConfigModel):
    """Username and password (plus security token); for sandboxes and development orgs."""

    flow: Literal["username_password"]
    username: NonEmptyStr
    password: Secret
    security_token: Secret | None = None
    client_id: NonEmptyStr | None = None
    client_secret: Secret | None = None


AUTH_FLOWS: dict[str, type[ConfigModel]] = {
    "client_credentials": ClientCredentialsAuth,
    "jwt_bearer": JwtBearerAuth,
    "refresh_token": RefreshTokenAuth,
    "username_password": UsernamePasswordAuth,
}
Auth = Annotated[
    ClientCredentialsAuth | JwtBearerAuth | RefreshTokenAuth | UsernamePasswordAuth,
    Field(discriminator="flow"),
]


class SalesforceConnection(ConfigModel):
    instance_url: AnyUrl = Field(
        description="the org's My Domain URL, https://<domain>.my.salesforce.com"
    )
    login_url: AnyUrl = Field(
        default=AnyUrl("https://login.salesforce.com"),
        description="token endpoint host: login.salesforce.com, test.salesforce.com or My Domain",
    )
    api_version: Annotated[str, Field(pattern=r"^[1-9][0-9]\.0$")] = "61.0"
    auth: Auth
    transport: Literal["cometd", "pubsub"] = Field(
        default="cometd",
        description="how change events arrive: 'cometd' (the Streaming API) or 'pubsub' "
        "(the gRPC Pub/Sub API, which Salesforce recommends for new subscribers)",
    )
    pubsub_endpoint: Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")] = Field(
        default="api.pubsub.salesforce.com:7443",
        description="host:port of the Pub/Sub API, when transport is 'pubsub'",
    )

    @field_validator("instance_url", "login_url")
    @classmethod
    def _https(cls, url: AnyUrl) -> AnyUrl:
        if url.scheme != "https":
            raise PydanticCustomError(
                "https_required",
                "must use https:// (Salesforce refuses plain http); got {url}",
                {"url": str(url)},
            )
        return url


# --- Filters -----------------------------------------------------------------------------------


class Operator(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"
    IN = "in"
    NOT_IN = "not_in"


NO_VALUE = {Operator.IS_EMPTY, Operator.IS_NOT_EMPTY}
LIST_VALUE = {Operator.IN, Operator.NOT_IN}
TEXT_VALUE = {Operator.CONTAINS, Operator.NOT_CONTAINS, Operator.STARTS_WITH, Operator.ENDS_WITH}
ORDERED_VALUE = {Operator.GT, Operator.GTE, Operator.LT, Operator.LTE}

Scalar = str | int | float | bool


class Condition(ConfigModel):
    """`field operator value`; the value is compared as the field's describe type at run time."""

    field: FieldName
    operator: Operator
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="before")
    @classmethod
    def _value_fits_operator(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("operator") not in set(Operator):
            return data
        op, value = Operator(data["operator"]), data.get("value")
        if problem := _value_problem(op, value):
            raise PydanticCustomError(
                "condition_value", "operator '{op}' {problem}", {"op": op.value, "problem": problem}
            )
        return data


def _value_problem(op: Operator, value: Any) -> str | None:
    if op in NO_VALUE:
        return None if value is None else "takes no value; remove 'value'"
    if value is None:
        return "needs a value; to test for a missing value use 'is_empty'"
    if op in LIST_VALUE:
        ok = isinstance(value, list) and bool(value) and all(_is_scalar(v) for v in value)
        return None if ok else "needs a non-empty list of values, e.g. value: [Banking, Retail]"
    if isinstance(value, list):
        return "compares one value, not a list; use 'in' or 'not_in' for a list"
    if op in TEXT_VALUE and not isinstance(value, str):
        return "compares text; quote the value"
    if op in ORDERED_VALUE and isinstance(value, bool):
        return "compares numbers or dates, not true/false"
    return None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


class Filter(ConfigModel):
    match: Literal["all", "any"] = Field(
        description="all: every condition holds; any: at least one"
    )
    conditions: list[Condition] = Field(min_length=1)


# --- Sections ----------------------------------------------------------------------------------


class SyncMode(StrEnum):
    CREATE_NEW = "create_new"
    UPDATE_EXISTING = "update_existing"


class _EntitySection(ConfigModel):
    """Accounts and contacts share the two sync modes and the trait and filter settings."""

    DEFAULT_FIELDS: ClassVar[tuple[str, ...]] = ()

    sync_mode: SyncMode
    id_field: FieldName | None = Field(
        default=None, description="create_new: the Salesforce field that holds the Gather id"
    )
    match_trait: TraitName | None = Field(
        default=None, description="update_existing: the Gather trait holding the Salesforce id"
    )
    extra_traits: list[FieldName] = Field(default_factory=list)
    filter: Filter | None = None

    @model_validator(mode="after")
    def _mode_settings(self) -> _EntitySection:
        if self.sync_mode is SyncMode.CREATE_NEW:
            _require(self.id_field, "id_field", "create_new", "the field holding the Gather id")
            _forbid(self.match_trait, "match_trait", "create_new")
        else:
            _require(
                self.match_trait,
                "match_trait",
                "update_existing",
                "the Gather trait that holds the Salesforce id",
            )
            _forbid(self.id_field, "id_field", "update_existing")
        return self

    @field_validator("extra_traits")
    @classmethod
    def _no_trait_twice(cls, extra: list[str]) -> list[str]:
        _check_extra_traits(extra, cls.DEFAULT_FIELDS)
        return extra


def _require(value: object, name: str, mode: str, what: str) -> None:
    if value is None:
        raise PydanticCustomError(
            "mode_setting",
            "{name} is required when sync_mode is {mode}: set it to {what}",
            {"name": name, "mode": mode, "what": what},
        )


def _forbid(value: object, name: str, mode: str) -> None:
    if value is not None:
        raise PydanticCustomError(
            "mode_setting",
            "{name} does not apply when sync_mode is {mode}; remove it",
            {"name": name, "mode": mode},
        )


def _check_extra_traits(extra: list[str], defaults: tuple[str, ...]) -> None:
    taken = {snake_case(f): f for f in defaults}
    for field in extra:
        trait = snake_case(field)
        if trait in taken:
            raise PydanticCustomError(
                "trait_clash",
                "extra trait '{field}' becomes '{trait}', which '{other}' already fills; remove it",
                {"field": field, "trait": trait, "other": taken[trait]},
            )
        taken[trait] = field


class AccountsSection(_EntitySection):
    DEFAULT_FIELDS = ACCOUNT_DEFAULT_FIELDS

    closed_won_only: bool = Field(
        default=False, description="sync an account only while it has a Closed Won opportunity"
    )


class ContactsSection(_EntitySection):
    DEFAULT_FIELDS = CONTACT_DEFAULT_FIELDS


class CustomObjectSection(ConfigModel):
    """Any other object, synced to a model of its own; every field becomes a snake_case trait."""

    object: SObjectName
    id_field: FieldName = Field(description="the field whose value is the record's id in the model")
    model: ModelName = Field(description="the Gather model; created when the config is saved")
    filter: Filter | None = None

    @model_validator(mode="after")
    def _not_reserved(self) -> CustomObjectSection:
        if section := RESERVED_OBJECTS.get(self.object):
            raise PydanticCustomError(
                "reserved_object",
                "{obj} is synced by the '{section}' section; configure it there",
                {"obj": self.object, "section": section},
            )
        return self


class TenantConfig(ConfigModel):
    """Everything gather-sync needs to sync one tenant's Salesforce org into Gather."""

    tenant: TenantId
    salesforce: SalesforceConnection
    accounts: AccountsSection | None = None
    contacts: ContactsSection | None = None
    custom_objects: list[CustomObjectSection] = Field(default_factory=list)

    @field_validator("custom_objects")
    @classmethod
    def _custom_objects_unique(
        cls, entries: list[CustomObjectSection]
    ) -> list[CustomObjectSection]:
        for attr in ("object", "model"):
            seen = [getattr(c, attr) for c in entries]
            if dupes := sorted({v for v in seen if seen.count(v) > 1}):
                raise PydanticCustomError(
                    "duplicate",
                    "{attr} {dupes} appears more than once; give each one entry",
                    {"attr": attr, "dupes": ", ".join(dupes)},
                )
        return entries

    @model_validator(mode="after")
    def _something_to_sync(self) -> TenantConfig:
        if self.accounts is None and self.contacts is None and not self.custom_objects:
            raise PydanticCustomError(
                "nothing_to_sync",
                "nothing to sync: add an 'accounts', 'contacts' or 'custom_objects' section",
            )
        return self

    def filtered_fields(self) -> dict[str, list[str]]:
        """Per object, the fields its filter compares (what needs describe types)."""
        sections: list[tuple[str, Filter | None]] = [
            ("Account", self.accounts.filter if self.accounts else None),
            ("Contact", self.contacts.filter if self.contacts else None),
            *((c.object, c.filter) for c in self.custom_objects),
        ]
        return {obj: sorted({c.field for c in rule.conditions}) for obj, rule in sections if rule}

    def synced_objects(self) -> list[str]:
        """The objects whose changes the listener subscribes to."""
        objects = ["Account"] if self.accounts else []
        if self.accounts and self.accounts.closed_won_only:
            objects.append("Opportunity")
        objects += ["Contact"] if self.contacts else []
        return objects + [c.object for c in self.custom_objects]
