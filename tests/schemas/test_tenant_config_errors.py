"""A wrong tenant config is refused with a message naming the tenant, the path and the fix.

Each row: what is wrong, the change to a valid config that makes it wrong, and the exact line
the user must see.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from schemas.errors import ConfigError
from schemas.loader import parse_tenant_configs
from tests.builders import DELETE, a_tenant_config, with_path

CASES: list[tuple[str, str, Any, str]] = [
    ("missing tenant", "tenant", DELETE, "tenant '?': tenant: is required"),
    (
        "tenant with spaces",
        "tenant",
        "Acme Corp",
        "tenant 'Acme Corp': tenant: 'Acme Corp' is not valid: use 1-63 lowercase letters, digits "
        "and '-', starting with a letter or digit",
    ),
    (
        "tenant with a colon (it would break the Kafka keys)",
        "tenant",
        "acme:eu",
        "tenant 'acme:eu': tenant: 'acme:eu' is not valid: use 1-63 lowercase letters, digits "
        "and '-', starting with a letter or digit",
    ),
    (
        "misspelt section",
        "acount",
        {"sync_mode": "create_new"},
        "tenant 'acme': acount: unknown key 'acount'; did you mean 'accounts'? allowed here: "
        "accounts, contacts, custom_objects, salesforce, tenant",
    ),
    (
        "missing salesforce connection",
        "salesforce",
        DELETE,
        "tenant 'acme': salesforce: is required",
    ),
    (
        "plain http instance url",
        "salesforce.instance_url",
        "http://acme.my.salesforce.com",
        "tenant 'acme': salesforce.instance_url: must use https:// (Salesforce refuses plain "
        "http); got http://acme.my.salesforce.com/",
    ),
    (
        "api version not like 61.0",
        "salesforce.api_version",
        "v61",
        "tenant 'acme': salesforce.api_version: 'v61' does not match the pattern ^[1-9][0-9]\\.0$",
    ),
    (
        "unknown auth flow",
        "salesforce.auth.flow",
        "password",
        "tenant 'acme': salesforce.auth: unknown flow 'password'; use 'client_credentials', "
        "'jwt_bearer', 'refresh_token', 'username_password'",
    ),
    (
        "auth without a flow",
        "salesforce.auth.flow",
        DELETE,
        "tenant 'acme': salesforce.auth: 'flow' is required; use one of client_credentials, "
        "jwt_bearer, refresh_token, username_password",
    ),
    (
        "secret written in the config",
        "salesforce.auth.client_secret",
        "s3cr3t",
        "tenant 'acme': salesforce.auth.client_secret: a secret is never written in the config; "
        "reference it as {env: VAR_NAME} or {file: /path/to/secret}",
    ),
    (
        "secret reference with both env and file",
        "salesforce.auth.client_secret",
        {"env": "X", "file": "/run/x"},
        "tenant 'acme': salesforce.auth.client_secret: give exactly one of 'env' or 'file'",
    ),
    (
        "secret reference to a lowercase variable",
        "salesforce.auth.client_secret",
        {"env": "sf-secret"},
        "tenant 'acme': salesforce.auth.client_secret.env: 'sf-secret' does not match the pattern "
        "^[A-Z_][A-Z0-9_]*$",
    ),
    (
        "jwt flow without its user",
        "salesforce.auth",
        {"flow": "jwt_bearer", "client_id": "3MVG", "private_key": {"file": "/run/key.pem"}},
        "tenant 'acme': salesforce.auth.username: is required",
    ),
    (
        "unknown sync mode",
        "accounts.sync_mode",
        "create",
        "tenant 'acme': accounts.sync_mode: 'create' is not allowed; use 'create_new' or "
        "'update_existing'",
    ),
    (
        "create mode without id field",
        "accounts.id_field",
        DELETE,
        "tenant 'acme': accounts: id_field is required when sync_mode is create_new: set it to the "
        "field holding the Gather id",
    ),
    (
        "update mode without match trait",
        "contacts.match_trait",
        DELETE,
        "tenant 'acme': contacts: match_trait is required when sync_mode is update_existing: set "
        "it to the Gather trait that holds the Salesforce id",
    ),
    (
        "create mode with a match trait",
        "accounts.match_trait",
        "sf_id",
        "tenant 'acme': accounts: match_trait does not apply when sync_mode is create_new; remove it",
    ),
    (
        "extra trait that is not an API name",
        "accounts.extra_traits",
        ["Annual Revenue"],
        "tenant 'acme': accounts.extra_traits[0]: 'Annual Revenue' is not valid: use the field's API "
        "name, e.g. 'AnnualRevenue' or 'Tier__c'",
    ),
    (
        "extra trait that is already a default",
        "accounts.extra_traits",
        ["NumberOfEmployees"],
        "tenant 'acme': accounts.extra_traits: extra trait 'NumberOfEmployees' becomes 'number_of_employees', "
        "which 'NumberOfEmployees' already fills; remove it",
    ),
    (
        "extra trait listed twice",
        "contacts.extra_traits",
        ["Title", "Title"],
        "tenant 'acme': contacts.extra_traits: extra trait 'Title' becomes 'title', which 'Title' already fills; "
        "remove it",
    ),
    (
        "closed-won switch on contacts",
        "contacts.closed_won_only",
        True,
        "tenant 'acme': contacts.closed_won_only: unknown key 'closed_won_only'; allowed here: "
        "extra_traits, filter, id_field, match_trait, sync_mode",
    ),
    (
        "closed-won switch not a boolean",
        "accounts.closed_won_only",
        "sometimes",
        "tenant 'acme': accounts.closed_won_only: Input should be a valid boolean, unable to "
        "interpret input (got 'sometimes')",
    ),
    (
        "filter match neither all nor any",
        "accounts.filter",
        {"match": "some", "conditions": [{"field": "Industry", "operator": "is_empty"}]},
        "tenant 'acme': accounts.filter.match: 'some' is not allowed; use 'all' or 'any'",
    ),
    (
        "filter without conditions",
        "accounts.filter",
        {"match": "all", "conditions": []},
        "tenant 'acme': accounts.filter.conditions: List should have at least 1 item after "
        "validation, not 0 (got [])",
    ),
    (
        "unknown operator",
        "accounts.filter",
        {
            "match": "all",
            "conditions": [{"field": "Industry", "operator": "greater_than", "value": 1}],
        },
        "tenant 'acme': accounts.filter.conditions[0].operator: 'greater_than' is not allowed; use "
        "'equals', 'not_equals', 'contains', 'not_contains', 'starts_with', 'ends_with', 'gt', "
        "'gte', 'lt', 'lte', 'is_empty', 'is_not_empty', 'in' or 'not_in'",
    ),
    (
        "is_empty with a value",
        "accounts.filter",
        {
            "match": "all",
            "conditions": [{"field": "Industry", "operator": "is_empty", "value": "x"}],
        },
        "tenant 'acme': accounts.filter.conditions[0]: operator 'is_empty' takes no value; remove "
        "'value'",
    ),
    (
        "equals without a value",
        "accounts.filter",
        {"match": "any", "conditions": [{"field": "Industry", "operator": "equals"}]},
        "tenant 'acme': accounts.filter.conditions[0]: operator 'equals' needs a value; to test for "
        "a missing value use 'is_empty'",
    ),
    (
        "in with one value instead of a list",
        "contacts.filter",
        {"match": "all", "conditions": [{"field": "LeadSource", "operator": "in", "value": "Web"}]},
        "tenant 'acme': contacts.filter.conditions[0]: operator 'in' needs a non-empty list of "
        "values, e.g. value: [Banking, Retail]",
    ),
    (
        "gt with a list",
        "accounts.filter",
        {
            "match": "all",
            "conditions": [{"field": "AnnualRevenue", "operator": "gt", "value": [1]}],
        },
        "tenant 'acme': accounts.filter.conditions[0]: operator 'gt' compares one value, not a "
        "list; use 'in' or 'not_in' for a list",
    ),
    (
        "contains with a number",
        "accounts.filter",
        {"match": "all", "conditions": [{"field": "Phone", "operator": "contains", "value": 33}]},
        "tenant 'acme': accounts.filter.conditions[0]: operator 'contains' compares text; quote "
        "the value",
    ),
    (
        "lt with true/false",
        "accounts.filter",
        {
            "match": "all",
            "conditions": [{"field": "NumberOfEmployees", "operator": "lt", "value": True}],
        },
        "tenant 'acme': accounts.filter.conditions[0]: operator 'lt' compares numbers or dates, not "
        "true/false",
    ),
    (
        "custom object without a model",
        "custom_objects.0.model",
        DELETE,
        "tenant 'acme': custom_objects[0].model: is required",
    ),
    (
        "custom object model name with a dash",
        "custom_objects.0.model",
        "paid-invoices",
        "tenant 'acme': custom_objects[0].model: 'paid-invoices' is not valid: use 1-63 lowercase "
        "letters, digits and '_', starting with a letter",
    ),
    (
        "Account as a custom object",
        "custom_objects.0.object",
        "Account",
        "tenant 'acme': custom_objects[0]: Account is synced by the 'accounts' section; configure "
        "it there",
    ),
    (
        "two custom objects into one model",
        "custom_objects",
        [
            {"object": "Invoice__c", "id_field": "Name", "model": "billing"},
            {"object": "Payment__c", "id_field": "Name", "model": "billing"},
        ],
        "tenant 'acme': custom_objects: model billing appears more than once; give each one entry",
    ),
]


@pytest.mark.parametrize(("case", "path", "value", "expected"), CASES, ids=[c[0] for c in CASES])
def test_given_a_wrong_config_when_loaded_then_the_error_names_tenant_path_and_fix(
    case: str, path: str, value: Any, expected: str
) -> None:
    document = with_path(a_tenant_config(), path, value)

    with pytest.raises(ConfigError) as raised:
        parse_tenant_configs(yaml.safe_dump(document), source="acme.yaml")

    assert [str(issue) for issue in raised.value.issues] == [expected]
    assert str(raised.value).startswith("acme.yaml: invalid tenant config (1 problem(s)):")


def test_given_no_section_to_sync_when_loaded_then_it_says_which_sections_exist() -> None:
    document = {k: v for k, v in a_tenant_config().items() if k in ("tenant", "salesforce")}

    with pytest.raises(ConfigError) as raised:
        parse_tenant_configs(yaml.safe_dump(document))

    assert [str(i) for i in raised.value.issues] == [
        "tenant 'acme': (top level): nothing to sync: add an 'accounts', 'contacts' or "
        "'custom_objects' section"
    ]


RAW_CASES = [
    (
        "broken YAML",
        "tenant: acme\nsalesforce: [unclosed\n",
        "tenant '?': line 3, column 1: not valid YAML: while parsing a flow sequence expected ',' "
        "or ']', but got '<stream end>'",
    ),
    (
        "duplicate key",
        "tenant: acme\ntenant: other\n",
        "tenant '?': line 2, column 1: not valid YAML: duplicate key 'tenant'",
    ),
    (
        "a list instead of a mapping",
        "- tenant: acme\n",
        "tenant '?': (top level): a tenant config is a mapping of keys like 'tenant:' and "
        "'salesforce:'",
    ),
    ("an empty file", "# nothing here\n", "tenant '?': (file): no tenant config in it"),
]


@pytest.mark.parametrize(("case", "text", "expected"), RAW_CASES, ids=[c[0] for c in RAW_CASES])
def test_given_unreadable_yaml_when_loaded_then_the_error_says_where(
    case: str, text: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_tenant_configs(text, source="t.yaml")

    assert [str(issue) for issue in raised.value.issues] == [expected]


def test_given_two_tenants_with_errors_when_loaded_then_every_problem_is_reported() -> None:
    first = with_path(a_tenant_config(), "accounts.sync_mode", "create")
    second = with_path(a_tenant_config(tenant="globex"), "custom_objects.0.model", DELETE)

    with pytest.raises(ConfigError) as raised:
        parse_tenant_configs(yaml.safe_dump_all([first, second]))

    assert [(i.tenant, i.path) for i in raised.value.issues] == [
        ("acme", "accounts.sync_mode"),
        ("globex", "custom_objects[0].model"),
    ]
