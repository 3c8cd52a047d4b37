"""Spec cases of accounts: the two modes, traits and closed won."""

from __future__ import annotations

from tests.spec.builders import (
    Case,
    acc,
    account,
    account_row,
    all_of,
    create,
    deal,
    deleted,
    rows,
    step,
    tenant,
    update,
    where,
)
from tests.spec.guide import (
    ACME,
    BY_ID,
    D_CLOSED_WON,
    D_CUSTOM_FIELDS,
    D_DELETE,
    D_EMPTY_ID,
    D_UPDATE,
    G_ACCOUNT_SNAKE,
    G_ACCOUNT_TRAITS,
    G_CLOSED_WON,
    G_CREATE_ACCOUNTS,
    G_EXTRA,
    G_UPDATE_ACCOUNTS,
)

# --- accounts: the two modes ------------------------------------------------------------------

ACCOUNT_MODES = [
    Case(
        "create mode: one Gather account per Salesforce account, under its id field's value",
        G_CREATE_ACCOUNTS,
        tenant(accounts=create("Gather_Id__c")),
        [
            step(
                account(1, Name="Acme", Gather_Id__c="G-1"),
                account(2, Name="Globex", Gather_Id__c="G-2"),
            )
        ],
        rows(
            account_row("G-1", acc(1), {"name": "Acme"}),
            account_row("G-2", acc(2), {"name": "Globex"}),
        ),
    ),
    Case(
        "create mode by the record Id",
        G_CREATE_ACCOUNTS,
        tenant(accounts=BY_ID),
        [step(account(1, Name="Acme"))],
        rows(account_row(acc(1), acc(1), ACME)),
    ),
    Case(
        "create mode: an edit reaches the account; a field set to null leaves no value",
        G_CREATE_ACCOUNTS,
        tenant(accounts=BY_ID),
        [
            step(account(1, Name="Acme", Phone="+1 555 0100", Website="https://acme.example")),
            step(account(1, Name="Acme Corp", Phone=None, Website="https://acme.example")),
        ],
        rows(account_row(acc(1), acc(1), {"name": "Acme Corp", "website": "https://acme.example"})),
    ),
    Case(
        "create mode: an account whose id field is empty (null, '', blanks) is skipped, counted",
        D_EMPTY_ID,
        tenant(accounts=create("Gather_Id__c")),
        [
            step(
                account(1, Name="Acme", Gather_Id__c="G-1"),
                account(2, Name="Globex", Gather_Id__c=None),
                account(3, Name="Initech", Gather_Id__c=""),
                account(4, Name="Umbrella", Gather_Id__c="   "),
            )
        ],
        rows(account_row("G-1", acc(1), ACME)),
        no_id=frozenset({("Account", acc(2)), ("Account", acc(3)), ("Account", acc(4))}),
    ),
    Case(
        "update mode: only Gather accounts holding the Salesforce id are updated, none created",
        G_UPDATE_ACCOUNTS,
        tenant(accounts=update("salesforce_id")),
        [step(account(1, Name="Acme", Industry="Banking"), account(2, Name="Globex"))],
        rows(
            account_row(
                "g-1",
                acc(1),
                {"salesforce_id": acc(1), "plan": "pro", "name": "Acme", "industry": "Banking"},
            ),
            account_row("g-2", None, {"salesforce_id": acc(9), "plan": "free"}),
            account_row("g-3", None, {"plan": "free"}),
        ),
        existing={
            "accounts": [
                {"id": "g-1", "traits": {"salesforce_id": acc(1), "plan": "pro"}},
                {"id": "g-2", "traits": {"salesforce_id": acc(9), "plan": "free"}},
                {"id": "g-3", "traits": {"plan": "free"}},
            ]
        },
    ),
    Case(
        "update mode: every Gather account holding the Salesforce id is updated",
        D_UPDATE,
        tenant(accounts=update("salesforce_id")),
        [step(account(1, Name="Acme"))],
        rows(
            account_row("g-1", acc(1), {"salesforce_id": acc(1), "name": "Acme"}),
            account_row("g-2", acc(1), {"salesforce_id": acc(1), "name": "Acme"}),
        ),
        existing={
            "accounts": [
                {"id": "g-1", "traits": {"salesforce_id": acc(1)}},
                {"id": "g-2", "traits": {"salesforce_id": acc(1)}},
            ]
        },
    ),
    Case(
        "update mode: an account deleted before it ever qualified marks its Gather account "
        "deleted (the Gather account stands for it all along)",
        D_DELETE,
        tenant(accounts=update("salesforce_id", closed_won_only=True)),
        [step(account(1, Name="Acme")), step(deleted(account(1, Name="Acme")))],
        rows(account_row("g-1", acc(1), {"salesforce_id": acc(1), "plan": "pro"}, "deleted")),
        existing={"accounts": [{"id": "g-1", "traits": {"salesforce_id": acc(1), "plan": "pro"}}]},
    ),
    Case(
        "update mode: a deleted account marks its Gather account deleted",
        D_DELETE,
        tenant(accounts=update("salesforce_id")),
        [step(account(1, Name="Acme")), step(deleted(account(1, Name="Acme")))],
        rows(account_row("g-1", acc(1), {"salesforce_id": acc(1), "name": "Acme"}, "deleted")),
        existing={"accounts": [{"id": "g-1", "traits": {"salesforce_id": acc(1)}}]},
    ),
]


# --- accounts: traits -------------------------------------------------------------------------

FULL_ACCOUNT = {
    "Name": "Acme",
    "Phone": "+1 555 0100",
    "Description": "Anvils",
    "Industry": "Manufacturing",
    "BillingStreet": "1 Main St",
    "BillingCity": "Paris",
    "BillingState": None,
    "BillingPostalCode": "75001",
    "BillingCountry": "FR",
    "Website": "https://acme.example",
    "YearStarted": "1999",
    "NumberOfEmployees": 250,
    "AnnualRevenue": 5_000_000,
    "Rating": "Hot",
    "AccountNumber": "ACC-1",
    "Tier__c": "Gold",
    "SLAExpirationDate__c": "2026-06-30",
}
FULL_TRAITS = {
    "name": "Acme",
    "phone": "+1 555 0100",
    "description": "Anvils",
    "industry": "Manufacturing",
    "billing_address": {
        "street": "1 Main St",
        "city": "Paris",
        "postal_code": "75001",
        "country": "FR",
    },
    "website": "https://acme.example",
    "year_started": "1999",
    "number_of_employees": 250,
}

ACCOUNT_TRAITS = [
    Case(
        "the default account traits, in snake_case, and nothing else",
        G_ACCOUNT_TRAITS,
        tenant(accounts=BY_ID),
        [step(account(1, **FULL_ACCOUNT))],
        rows(account_row(acc(1), acc(1), FULL_TRAITS)),
    ),
    Case(
        "NumberOfEmployees becomes number_of_employees, YearStarted year_started",
        G_ACCOUNT_SNAKE,
        tenant(accounts=BY_ID),
        [step(account(1, NumberOfEmployees=12, YearStarted="2001"))],
        rows(account_row(acc(1), acc(1), {"number_of_employees": 12, "year_started": "2001"})),
    ),
    Case(
        "billing_address is composed of the Billing* parts that have a value; none: no value",
        G_ACCOUNT_TRAITS,
        tenant(accounts=BY_ID),
        [
            step(
                account(
                    1, Name="Acme", BillingCity="Osaka", BillingCountry="JP", BillingState=None
                ),
                account(
                    2,
                    Name="Globex",
                    BillingStreet=None,
                    BillingCity=None,
                    BillingState=None,
                    BillingPostalCode=None,
                    BillingCountry=None,
                ),
                account(3, Name="Initech"),
            )
        ],
        rows(
            account_row(
                acc(1),
                acc(1),
                {"name": "Acme", "billing_address": {"city": "Osaka", "country": "JP"}},
            ),
            account_row(acc(2), acc(2), {"name": "Globex"}),
            account_row(acc(3), acc(3), {"name": "Initech"}),
        ),
    ),
    Case(
        "billing_address follows its parts: a moved account's address is replaced whole",
        G_ACCOUNT_TRAITS,
        tenant(accounts=BY_ID),
        [
            step(account(1, Name="Acme", BillingStreet="1 Main St", BillingCity="Paris")),
            step(account(1, Name="Acme", BillingStreet=None, BillingCity="Lyon")),
        ],
        rows(account_row(acc(1), acc(1), {"name": "Acme", "billing_address": {"city": "Lyon"}})),
    ),
    Case(
        "extra traits in snake_case; a custom field keeps its suffix as _c (Tier__c -> tier_c)",
        G_EXTRA,
        tenant(
            accounts=create(
                "Id", extra_traits=["AnnualRevenue", "Rating", "Tier__c", "SLAExpirationDate__c"]
            )
        ),
        [step(account(1, **FULL_ACCOUNT))],
        rows(
            account_row(
                acc(1),
                acc(1),
                FULL_TRAITS
                | {
                    "annual_revenue": 5_000_000,
                    "rating": "Hot",
                    "tier_c": "Gold",
                    "sla_expiration_date_c": "2026-06-30",
                },
            )
        ),
    ),
    Case(
        "the custom-field rule: words split at case changes, runs of capitals are one word",
        D_CUSTOM_FIELDS,
        tenant(accounts=create("Id", extra_traits=["SLAExpirationDate__c", "Score__c"])),
        [step(account(1, SLAExpirationDate__c="2027-01-01", Score__c=4.5))],
        rows(account_row(acc(1), acc(1), {"sla_expiration_date_c": "2027-01-01", "score_c": 4.5})),
    ),
]


# --- accounts: closed won ---------------------------------------------------------------------

CLOSED_WON = create("Id", closed_won_only=True)

CLOSED_WON_CASES = [
    Case(
        "closed-won only: an account with a won deal syncs; open, lost or no deals do not",
        G_CLOSED_WON,
        tenant(accounts=CLOSED_WON),
        [
            step(
                account(1, Name="Won"),
                account(2, Name="Open"),
                account(3, Name="Lost"),
                account(4, Name="None"),
                account(5, Name="Mixed"),
                deal(1, 1, "Closed Won"),
                deal(2, 2, "Negotiation/Review"),
                deal(3, 3, "Closed Lost"),
                deal(4, 5, "Closed Lost"),
                deal(5, 5, "Closed Won"),
            )
        ],
        rows(
            account_row(acc(1), acc(1), {"name": "Won"}),
            account_row(acc(5), acc(5), {"name": "Mixed"}),
        ),
    ),
    Case(
        "closed-won only: a deal won later syncs the unchanged account at once, in full",
        D_CLOSED_WON,
        tenant(accounts=CLOSED_WON),
        [
            step(account(1, Name="Acme", Phone="+1 555 0100"), deal(1, 1, "Prospecting")),
            step(deal(1, 1, "Closed Won")),
        ],
        rows(account_row(acc(1), acc(1), {"name": "Acme", "phone": "+1 555 0100"})),
    ),
    Case(
        "closed-won only: a reopened deal stops updates; the row stays, not deleted",
        D_CLOSED_WON,
        tenant(accounts=CLOSED_WON),
        [
            step(account(1, Name="Acme"), deal(1, 1, "Closed Won")),
            step(deal(1, 1, "Negotiation/Review")),
            step(account(1, Name="Acme Corp")),
        ],
        rows(account_row(acc(1), acc(1), {"name": "Acme"})),
    ),
    Case(
        "closed-won only: a lost deal stops updates",
        D_CLOSED_WON,
        tenant(accounts=CLOSED_WON),
        [
            step(account(1, Name="Acme"), deal(1, 1, "Closed Won")),
            step(deal(1, 1, "Closed Lost")),
            step(account(1, Name="Acme Corp")),
        ],
        rows(account_row(acc(1), acc(1), {"name": "Acme"})),
    ),
    Case(
        "closed-won only: a deleted won deal stops updates; undeleted, it syncs the account again",
        D_CLOSED_WON,
        tenant(accounts=CLOSED_WON),
        [
            step(account(1, Name="Acme"), deal(1, 1, "Closed Won")),
            step(deleted(deal(1, 1, "Closed Won"))),
            step(account(1, Name="Acme Corp")),
            step(account(2, Name="Globex"), deal(2, 2, "Closed Won")),
            step(deleted(deal(2, 2, "Closed Won"))),
            step(account(2, Name="Globex Inc")),
            step(deal(2, 2, "Closed Won")),
        ],
        rows(
            account_row(acc(1), acc(1), {"name": "Acme"}),
            account_row(acc(2), acc(2), {"name": "Globex Inc"}),
        ),
    ),
    Case(
        "closed-won only: a won deal moved to another account moves the qualification with it",
        D_CLOSED_WON,
        tenant(accounts=CLOSED_WON),
        [
            step(account(1, Name="Acme"), account(2, Name="Globex"), deal(1, 1, "Closed Won")),
            step(deal(1, 2, "Closed Won")),
            step(account(1, Name="Acme Corp"), account(2, Name="Globex Inc")),
        ],
        rows(
            account_row(acc(1), acc(1), {"name": "Acme"}),
            account_row(acc(2), acc(2), {"name": "Globex Inc"}),
        ),
    ),
    Case(
        "closed-won only: one won deal among lost ones is enough; losing another changes nothing",
        G_CLOSED_WON,
        tenant(accounts=CLOSED_WON),
        [
            step(account(1, Name="Acme"), deal(1, 1, "Closed Won"), deal(2, 1, "Closed Won")),
            step(deal(2, 1, "Closed Lost")),
            step(account(1, Name="Acme Corp")),
        ],
        rows(account_row(acc(1), acc(1), {"name": "Acme Corp"})),
    ),
    Case(
        "closed-won only and a filter: both must hold",
        G_CLOSED_WON,
        tenant(
            accounts=create(
                "Id",
                closed_won_only=True,
                filter=all_of(where("Industry", "equals", "Banking")),
            )
        ),
        [
            step(
                account(1, Name="Both", Industry="Banking"),
                account(2, Name="Won only", Industry="Retail"),
                account(3, Name="Filter only", Industry="Banking"),
                deal(1, 1, "Closed Won"),
                deal(2, 2, "Closed Won"),
            )
        ],
        rows(account_row(acc(1), acc(1), {"name": "Both", "industry": "Banking"})),
    ),
]
