"""The spec table: the product guide's rules as cases, each citing the sentence it checks.

`guide` quotes ../shared/spec/salesforce-installation.md word for word (typos included);
"DESIGN:" quotes the "Rules, made precise" section of ../shared/DESIGN.md and "ISSUE 10:" the
issue that made a rule precise. Expected rows are written by hand. Record ids: `acc(1)` is
Account 1, `con(2)` Contact 2, `opp(3)` Opportunity 3, `inv(4)` Invoice__c 4. The filter cases
(every operator on every field type) are in `tests/spec/filter_cases.py`.
"""

from __future__ import annotations

from tests.spec.builders import (
    Case,
    acc,
    account,
    account_row,
    all_of,
    con,
    contact,
    create,
    custom,
    deal,
    deleted,
    inv,
    invoice,
    model_row,
    record_row,
    rows,
    step,
    tenant,
    update,
    user_row,
    where,
)
from tests.spec.filter_cases import FILTER_CASES
from tests.spec.reference import Key, Row

G_CREATE_ACCOUNTS = (
    "With this configuration, Gather will create a new Account for every Salesforce Account "
    "using the ID stored in the ID field you provided."
)
G_UPDATE_ACCOUNTS = (
    "With this configuration, Gather will only update existing Accounts that have a "
    "corresponding Salesforce Account."
)
G_ACCOUNT_TRAITS = (
    "The traits synced to a Gather Account from a Salesforce Account by default are: "
    "Name, Phone, Description, Industry, BillingAddress, Website, YearStarted, NumberOfEmployees"
)
G_ACCOUNT_SNAKE = (
    "Traits are automatically converted to snake_case, so `NumberOfEmployees` will become "
    "`number_of_employees`."
)
G_EXTRA = (
    "To sync additional traits in addition to the default traits, select them in the "
    "`Extra traits` dropdown. Traits are converted to snake_case."
)
G_CLOSED_WON = (
    "Enabling this option will only sync accounts that have any opportunity that has a the "
    "status `Closed Won`."
)
G_CREATE_USERS = (
    "With this configuration, Gather will create a new User for every Salesforce Contact "
    "using the ID stored in the ID field you provided."
)
G_LINK = (
    "Gather will automatically inspect the Salesforce relationships to correctly link the User "
    "to its Account."
)
G_UPDATE_USERS = (
    "With this configuration, Gather will only update existing User that have a corresponding "
    "Salesforce Contact."
)
G_USER_TRAITS = (
    "The traits synced to a Gather User from a Salesforce Contact by default are: "
    "Id, FirstName, LastName, Email, Phone"
)
G_USER_SNAKE = (
    "Traits are automatically converted to snake_case, so `FirstName` will become `first_name`."
)
G_FILTER_CONTACTS = "Gather will no only sync a Contact if the conditions match."
G_CUSTOM = (
    "In addition to Accounts and Users, Gather can be configured to sync any of the other "
    "objects in Salesforce to a dedicated model in Gather. All that's required is to choose the "
    "Salesforce Object to sync along with which field should be used as its ID."
)
G_MODEL = (
    "Choose a name for the model that the object records will be synced to - Gather will create "
    "this model for you after you save the configuration"
)
G_CUSTOM_FILTER = (
    "Optional: In the same as you can for Accounts and Contacts, you can optionally only sync "
    "records in the object that match one or more conditions"
)
D_EMPTY_ID = (
    "DESIGN: Accounts, create mode: the Gather account id is the value of the chosen Salesforce "
    "field; a record with that field empty is skipped and counted, not an error."
)
D_UPDATE = (
    "DESIGN: Accounts, update-existing mode: update the Gather account whose chosen trait equals "
    "the Salesforce Account Id; create nothing."
)
D_CUSTOM_FIELDS = "DESIGN: all snake_case ... Document and test the rule for custom fields."
D_CLOSED_WON = (
    "DESIGN: An Opportunity change that flips this (won, reopened, lost, deleted, moved to "
    "another account) re-evaluates the account at once."
)
D_STOP = (
    "DESIGN: A record that stops matching is no longer updated (not deleted); one that starts "
    "matching is synced in full."
)
D_LINK = (
    "DESIGN: each user is linked to the Gather account of its `AccountId`, whichever arrives first."
)
D_DELETE = (
    "DESIGN: A Salesforce delete marks the Gather entity deleted; an undelete clears the mark."
)
D_CONFIG = (
    "DESIGN: A config change (extra trait, filter, mode) re-evaluates the tenant's records from "
    "state, without re-reading Salesforce."
)
D_MODEL = "DESIGN: the model exists in the store once the config is saved."
I_ID_CHANGED = (
    "ISSUE 10: In create-new mode, when a record's id field value changes, the row under the old "
    "id is marked deleted (reason `id_changed`), not left live beside the new one"
)
I_EMPTY_ID = "ISSUE 10: a record whose id field is empty is skipped and counted."

BY_ID = create("Id")
ACME = {"name": "Acme"}


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


# --- filters over time, and config changes ----------------------------------------------------

BANKING = create("Id", filter=all_of(where("Industry", "equals", "Banking")))

OVER_TIME = [
    Case(
        "a record that stops matching keeps its last synced row (not deleted, not updated)",
        D_STOP,
        tenant(accounts=BANKING),
        [
            step(account(1, Name="Acme", Industry="Banking", Phone="1")),
            step(account(1, Name="Acme", Industry="Retail", Phone="2")),
        ],
        rows(account_row(acc(1), acc(1), {"name": "Acme", "industry": "Banking", "phone": "1"})),
    ),
    Case(
        "a record leaving and re-entering the filter is synced in full when it matches again",
        D_STOP,
        tenant(accounts=BANKING),
        [
            step(account(1, Name="Acme", Industry="Banking", Phone="1")),
            step(account(1, Name="Acme", Industry="Retail", Phone="2")),
            step(account(1, Name="Acme Corp", Industry="Banking", Phone="2")),
        ],
        rows(
            account_row(acc(1), acc(1), {"name": "Acme Corp", "industry": "Banking", "phone": "2"})
        ),
    ),
    Case(
        "a record that starts matching is synced in full",
        D_STOP,
        tenant(accounts=BANKING),
        [
            step(account(1, Name="Acme", Industry="Retail", Phone="1")),
            step(account(1, Name="Acme", Industry="Banking", Phone="1")),
        ],
        rows(account_row(acc(1), acc(1), {"name": "Acme", "industry": "Banking", "phone": "1"})),
    ),
    Case(
        "a config change (wider filter, an extra trait) re-evaluates the records already seen",
        D_CONFIG,
        tenant(accounts=BANKING),
        [
            step(
                account(1, Name="Acme", Industry="Banking", AnnualRevenue=100),
                account(2, Name="Globex", Industry="Retail", AnnualRevenue=200),
            ),
            step(
                config=tenant(
                    accounts=create(
                        "Id",
                        extra_traits=["AnnualRevenue"],
                        filter=all_of(where("Industry", "in", ["Banking", "Retail"])),
                    )
                )
            ),
        ],
        rows(
            account_row(
                acc(1), acc(1), {"name": "Acme", "industry": "Banking", "annual_revenue": 100}
            ),
            account_row(
                acc(2), acc(2), {"name": "Globex", "industry": "Retail", "annual_revenue": 200}
            ),
        ),
    ),
]


# --- deletes ----------------------------------------------------------------------------------

DELETES = [
    Case(
        "a delete marks the account deleted (its traits as last synced); an undelete clears it",
        D_DELETE,
        tenant(accounts=BY_ID),
        [
            step(account(1, Name="Acme"), account(2, Name="Globex")),
            step(deleted(account(1, Name="Acme")), deleted(account(2, Name="Globex"))),
            step(account(2, Name="Globex")),
        ],
        rows(
            account_row(acc(1), acc(1), ACME, "deleted"),
            account_row(acc(2), acc(2), {"name": "Globex"}),
        ),
    ),
    Case(
        "a record deleted after it stopped matching: its row is marked deleted",
        D_DELETE,
        tenant(accounts=BANKING),
        [
            step(account(1, Name="Acme", Industry="Banking")),
            step(account(1, Name="Acme", Industry="Retail")),
            step(deleted(account(1, Name="Acme", Industry="Retail"))),
        ],
        rows(account_row(acc(1), acc(1), {"name": "Acme", "industry": "Banking"}, "deleted")),
    ),
    Case(
        "a record never synced (filtered out) and deleted leaves no Gather entity",
        D_DELETE,
        tenant(accounts=BANKING),
        [
            step(account(1, Name="Acme", Industry="Retail")),
            step(deleted(account(1, Name="Acme", Industry="Retail"))),
        ],
        rows(),
    ),
    Case(
        "a record deleted and undeleted before it ever matched leaves no Gather entity",
        D_DELETE,
        tenant(accounts=BANKING),
        [
            step(account(1, Name="Acme", Industry="Retail")),
            step(deleted(account(1, Name="Acme", Industry="Retail"))),
            step(account(1, Name="Acme", Industry="Retail")),
        ],
        rows(),
    ),
    Case(
        "an undelete clears the mark even when the record no longer matches (traits as last "
        "synced: it is still not updated)",
        D_DELETE,
        tenant(accounts=BANKING),
        [
            step(account(1, Name="Acme", Industry="Banking")),
            step(account(1, Name="Acme", Industry="Retail")),
            step(deleted(account(1, Name="Acme", Industry="Retail"))),
            step(account(1, Name="Acme", Industry="Retail")),
        ],
        rows(account_row(acc(1), acc(1), {"name": "Acme", "industry": "Banking"})),
    ),
    Case(
        "closed-won only: an undeleted account without a won deal is restored, not updated",
        D_DELETE,
        tenant(accounts=CLOSED_WON),
        [
            step(account(1, Name="Acme"), deal(1, 1, "Closed Won")),
            step(deal(1, 1, "Closed Lost"), account(1, Name="Acme Corp")),
            step(deleted(account(1, Name="Acme Corp"))),
            step(account(1, Name="Acme Corp")),
        ],
        rows(account_row(acc(1), acc(1), ACME)),
    ),
]


# --- create mode: the id field changing or empty ------------------------------------------------

BY_GATHER_ID = create("Gather_Id__c")
BY_GATHER_ID_BANKING = create("Gather_Id__c", filter=all_of(where("Industry", "equals", "Banking")))

ID_CHANGES = [
    Case(
        "the id field changes: the old row is marked deleted (id_changed), the new one is live",
        I_ID_CHANGED,
        tenant(accounts=BY_GATHER_ID),
        [
            step(account(1, Name="Acme", Gather_Id__c="G-1")),
            step(account(1, Name="Acme Corp", Gather_Id__c="G-2")),
        ],
        rows(
            account_row("G-1", acc(1), ACME, "id_changed"),
            account_row("G-2", acc(1), {"name": "Acme Corp"}),
        ),
    ),
    Case(
        "the id field changes while the record is filtered out: the old row is deleted at once",
        I_ID_CHANGED,
        tenant(accounts=BY_GATHER_ID_BANKING),
        [
            step(account(1, Name="Acme", Industry="Banking", Gather_Id__c="G-1")),
            step(account(1, Name="Acme", Industry="Retail", Gather_Id__c="G-2")),
        ],
        rows(account_row("G-1", acc(1), {"name": "Acme", "industry": "Banking"}, "id_changed")),
    ),
    Case(
        "moved while filtered out, then matching again: synced in full under the new id",
        I_ID_CHANGED,
        tenant(accounts=BY_GATHER_ID_BANKING),
        [
            step(account(1, Name="Acme", Industry="Banking", Gather_Id__c="G-1")),
            step(account(1, Name="Acme", Industry="Retail", Gather_Id__c="G-2")),
            step(account(1, Name="Acme Corp", Industry="Banking", Gather_Id__c="G-2")),
        ],
        rows(
            account_row("G-1", acc(1), {"name": "Acme", "industry": "Banking"}, "id_changed"),
            account_row("G-2", acc(1), {"name": "Acme Corp", "industry": "Banking"}),
        ),
    ),
    Case(
        "the id field emptied: the old row is deleted (id_changed), the record skipped, counted",
        I_EMPTY_ID,
        tenant(accounts=BY_GATHER_ID),
        [
            step(account(1, Name="Acme", Gather_Id__c="G-1")),
            step(account(1, Name="Acme", Gather_Id__c=None)),
        ],
        rows(account_row("G-1", acc(1), ACME, "id_changed")),
        no_id=frozenset({("Account", acc(1))}),
    ),
    Case(
        "the id field moves back: the first row is live again, the second deleted",
        I_ID_CHANGED,
        tenant(accounts=BY_GATHER_ID),
        [
            step(account(1, Name="Acme", Gather_Id__c="G-1")),
            step(account(1, Name="Acme", Gather_Id__c="G-2")),
            step(account(1, Name="Acme Corp", Gather_Id__c="G-1")),
        ],
        rows(
            account_row("G-1", acc(1), {"name": "Acme Corp"}),
            account_row("G-2", acc(1), ACME, "id_changed"),
        ),
    ),
    Case(
        "a contact's email (its user id) changes: the old user is deleted as id_changed",
        I_ID_CHANGED,
        tenant(contacts=create("Email")),
        [
            step(contact(1, LastName="Lovelace", Email="ada@acme.example", AccountId=None)),
            step(contact(1, LastName="Lovelace", Email="ada@globex.example", AccountId=None)),
        ],
        rows(
            user_row(
                "ada@acme.example",
                con(1),
                {"id": con(1), "last_name": "Lovelace", "email": "ada@acme.example"},
                deleted="id_changed",
            ),
            user_row(
                "ada@globex.example",
                con(1),
                {"id": con(1), "last_name": "Lovelace", "email": "ada@globex.example"},
            ),
        ),
    ),
    Case(
        "a contact with an empty id field is skipped and counted",
        I_EMPTY_ID,
        tenant(contacts=create("Email")),
        [
            step(
                contact(1, LastName="Lovelace", Email=None), contact(2, LastName="Hopper", Email="")
            )
        ],
        rows(),
        no_id=frozenset({("Contact", con(1)), ("Contact", con(2))}),
    ),
]


# --- contacts ---------------------------------------------------------------------------------

ADA = {
    "FirstName": "Ada",
    "LastName": "Lovelace",
    "Email": "ada@acme.example",
    "Phone": "+44 20 0000",
    "Title": "CTO",
    "Department": "Engineering",
    "Birthdate": "1815-12-10",
}
ADA_TRAITS = {
    "id": con(1),
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@acme.example",
    "phone": "+44 20 0000",
}
BY_EMAIL = create("Email")

CONTACTS = [
    Case(
        "create mode: one Gather user per contact, under its id field's value",
        G_CREATE_USERS,
        tenant(contacts=BY_EMAIL),
        [step(contact(1, **ADA, AccountId=None))],
        rows(user_row("ada@acme.example", con(1), ADA_TRAITS)),
    ),
    Case(
        "the default user traits: Id, FirstName, LastName, Email, Phone, in snake_case",
        G_USER_TRAITS,
        tenant(contacts=create("Id")),
        [step(contact(1, **ADA))],
        rows(user_row(con(1), con(1), ADA_TRAITS)),
    ),
    Case(
        "FirstName becomes first_name; extra traits too (Title -> title, Birthdate -> birthdate)",
        G_USER_SNAKE,
        tenant(contacts=create("Id", extra_traits=["Title", "Birthdate"])),
        [step(contact(1, **ADA))],
        rows(user_row(con(1), con(1), ADA_TRAITS | {"title": "CTO", "birthdate": "1815-12-10"})),
    ),
    Case(
        "update mode: only Gather users holding the contact's Id are updated, none created",
        G_UPDATE_USERS,
        tenant(contacts=update("salesforce_contact_id")),
        [step(contact(1, **ADA, AccountId=None), contact(2, LastName="Hopper"))],
        rows(
            user_row("u-1", con(1), {"salesforce_contact_id": con(1), "plan": "pro"} | ADA_TRAITS),
            user_row("u-2", None, {"salesforce_contact_id": con(9)}),
            user_row("u-3", None, {"plan": "free"}),
        ),
        existing={
            "users": [
                {"id": "u-1", "traits": {"salesforce_contact_id": con(1), "plan": "pro"}},
                {"id": "u-2", "traits": {"salesforce_contact_id": con(9)}},
                {"id": "u-3", "traits": {"plan": "free"}},
            ]
        },
    ),
    Case(
        "update mode: a deleted contact marks its Gather user deleted",
        D_DELETE,
        tenant(contacts=update("salesforce_contact_id")),
        [step(contact(1, LastName="Lovelace")), step(deleted(contact(1, LastName="Lovelace")))],
        rows(
            user_row(
                "u-1",
                con(1),
                {"salesforce_contact_id": con(1), "id": con(1), "last_name": "Lovelace"},
                deleted="deleted",
            ),
        ),
        existing={"users": [{"id": "u-1", "traits": {"salesforce_contact_id": con(1)}}]},
    ),
    Case(
        "a contact filter: only matching contacts are synced (email, title: any)",
        G_FILTER_CONTACTS,
        tenant(
            contacts=create(
                "Id",
                filter={
                    "match": "any",
                    "conditions": [
                        where("Email", "ends_with", "@ACME.example"),
                        where("Title", "in", ["ceo", "cto"]),
                    ],
                },
            )
        ),
        [
            step(
                contact(1, LastName="Lovelace", Email="ada@acme.example", Title="Buyer"),
                contact(2, LastName="Hopper", Email="grace@globex.example", Title="CEO"),
                contact(3, LastName="Turing", Email="alan@globex.example", Title="Buyer"),
            )
        ],
        rows(
            user_row(
                con(1),
                con(1),
                {"id": con(1), "last_name": "Lovelace", "email": "ada@acme.example"},
            ),
            user_row(
                con(2),
                con(2),
                {"id": con(2), "last_name": "Hopper", "email": "grace@globex.example"},
            ),
        ),
    ),
]


# --- the contact-account link -----------------------------------------------------------------

LINKED = tenant(
    accounts=create("Id", filter=all_of(where("Industry", "equals", "Banking"))),
    contacts=BY_EMAIL,
)


def _user(n: int, email: str, sf_account: str | None, account_id: str | None) -> tuple[Key, Row]:
    return user_row(email, con(n), {"id": con(n), "email": email}, sf_account, account_id)


LINKS = [
    Case(
        "a user is linked to its account's Gather account, whichever arrives first",
        G_LINK,
        LINKED,
        [
            step(contact(1, Email="ada@x.example", AccountId=acc(1))),
            step(
                account(1, Name="Acme", Industry="Banking"),
                contact(2, Email="bob@x.example", AccountId=acc(1)),
            ),
        ],
        rows(
            account_row(acc(1), acc(1), {"name": "Acme", "industry": "Banking"}),
            _user(1, "ada@x.example", acc(1), acc(1)),
            _user(2, "bob@x.example", acc(1), acc(1)),
        ),
    ),
    Case(
        "no account, or an account not synced: the user is in no Gather account",
        D_LINK,
        LINKED,
        [
            step(
                account(3, Name="Initech", Industry="Retail"),
                contact(2, Email="bob@x.example", AccountId=None),
                contact(3, Email="cy@x.example", AccountId=acc(3)),
            )
        ],
        rows(
            _user(2, "bob@x.example", None, None),
            _user(3, "cy@x.example", acc(3), None),
        ),
    ),
    Case(
        "an account deleted before it was ever synced leaves its users in no Gather account",
        G_LINK,
        LINKED,
        [
            step(
                account(1, Name="Acme", Industry="Retail"),
                contact(1, Email="ada@x.example", AccountId=acc(1)),
            ),
            step(deleted(account(1, Name="Acme", Industry="Retail"))),
        ],
        rows(_user(1, "ada@x.example", acc(1), None)),
    ),
    Case(
        "a contact moving to another account moves its user; leaving it unlinks the user",
        D_LINK,
        LINKED,
        [
            step(
                account(1, Name="Acme", Industry="Banking"),
                account(2, Name="Globex", Industry="Banking"),
                contact(1, Email="ada@x.example", AccountId=acc(1)),
                contact(2, Email="bob@x.example", AccountId=acc(1)),
            ),
            step(
                contact(1, Email="ada@x.example", AccountId=acc(2)),
                contact(2, Email="bob@x.example", AccountId=None),
            ),
        ],
        rows(
            account_row(acc(1), acc(1), {"name": "Acme", "industry": "Banking"}),
            account_row(acc(2), acc(2), {"name": "Globex", "industry": "Banking"}),
            _user(1, "ada@x.example", acc(2), acc(2)),
            _user(2, "bob@x.example", None, None),
        ),
    ),
    Case(
        "update mode accounts: the user is linked to the existing Gather account",
        G_LINK,
        tenant(accounts=update("salesforce_id"), contacts=BY_EMAIL),
        [
            step(
                contact(1, Email="ada@x.example", AccountId=acc(1)),
                account(1, Name="Acme"),
            )
        ],
        rows(
            account_row("g-1", acc(1), {"salesforce_id": acc(1), "name": "Acme"}),
            _user(1, "ada@x.example", acc(1), "g-1"),
        ),
        existing={"accounts": [{"id": "g-1", "traits": {"salesforce_id": acc(1)}}]},
    ),
    Case(
        "the account's id field changes: its users follow it to the live Gather account",
        G_LINK,
        tenant(accounts=create("AccountNumber"), contacts=BY_EMAIL),
        [
            step(
                account(1, Name="Acme", AccountNumber="N-1"),
                contact(1, Email="ada@x.example", AccountId=acc(1)),
            ),
            step(account(1, Name="Acme", AccountNumber="N-2")),
        ],
        rows(
            account_row("N-1", acc(1), ACME, "id_changed"),
            account_row("N-2", acc(1), ACME),
            _user(1, "ada@x.example", acc(1), "N-2"),
        ),
    ),
]


# --- custom objects ---------------------------------------------------------------------------

INVOICES = custom("Invoice__c", "Name", "invoices")

CUSTOM_OBJECTS = [
    Case(
        "a custom object's records go to its model, every field a snake_case trait",
        G_CUSTOM,
        tenant(custom_objects=[INVOICES]),
        [
            step(
                invoice(
                    1,
                    Name="INV-1",
                    Status__c="Paid",
                    Amount__c=120.5,
                    Due__c="2026-02-01",
                    Paid__c=True,
                    Number__c=None,
                )
            )
        ],
        rows(
            model_row("invoices", "Invoice__c", "Name"),
            record_row(
                "invoices",
                "INV-1",
                inv(1),
                {
                    "name": "INV-1",
                    "status_c": "Paid",
                    "amount_c": 120.5,
                    "due_c": "2026-02-01",
                    "paid_c": True,
                },
            ),
        ),
    ),
    Case(
        "a model exists once the config is saved, before any record",
        G_MODEL,
        tenant(custom_objects=[custom("Subscription__c", "Id", "subscriptions")]),
        [step()],
        rows(model_row("subscriptions", "Subscription__c", "Id")),
    ),
    Case(
        "a model exists once the config is saved (a config change adds one)",
        D_MODEL,
        tenant(custom_objects=[INVOICES]),
        [
            step(),
            step(
                config=tenant(
                    custom_objects=[INVOICES, custom("Subscription__c", "Id", "subscriptions")]
                )
            ),
        ],
        rows(
            model_row("invoices", "Invoice__c", "Name"),
            model_row("subscriptions", "Subscription__c", "Id"),
        ),
    ),
    Case(
        "a custom object's filter: only matching records are synced",
        G_CUSTOM_FILTER,
        tenant(
            custom_objects=[
                custom(
                    "Invoice__c",
                    "Name",
                    "invoices",
                    filter=all_of(
                        where("Status__c", "not_equals", "Draft"),
                        where("Amount__c", "gte", 100),
                    ),
                )
            ]
        ),
        [
            step(
                invoice(1, Name="INV-1", Status__c="Paid", Amount__c=120.5),
                invoice(2, Name="INV-2", Status__c="Draft", Amount__c=500),
                invoice(3, Name="INV-3", Status__c="Sent", Amount__c=99.99),
                invoice(4, Name="INV-4", Status__c=None, Amount__c=100),
            )
        ],
        rows(
            model_row("invoices", "Invoice__c", "Name"),
            record_row(
                "invoices",
                "INV-1",
                inv(1),
                {"name": "INV-1", "status_c": "Paid", "amount_c": 120.5},
            ),
            record_row("invoices", "INV-4", inv(4), {"name": "INV-4", "amount_c": 100}),
        ),
    ),
    Case(
        "a custom record's id field changes: the old record is deleted as id_changed",
        I_ID_CHANGED,
        tenant(custom_objects=[INVOICES]),
        [
            step(invoice(1, Name="INV-1", Amount__c=10)),
            step(invoice(1, Name="INV-1b", Amount__c=10)),
        ],
        rows(
            model_row("invoices", "Invoice__c", "Name"),
            record_row(
                "invoices", "INV-1", inv(1), {"name": "INV-1", "amount_c": 10}, "id_changed"
            ),
            record_row("invoices", "INV-1b", inv(1), {"name": "INV-1b", "amount_c": 10}),
        ),
    ),
    Case(
        "a custom record with an empty id field is skipped and counted",
        I_EMPTY_ID,
        tenant(custom_objects=[custom("Invoice__c", "Number__c", "invoices")]),
        [
            step(
                invoice(1, Name="INV-1", Number__c="N-1"),
                invoice(2, Name="INV-2", Number__c=None),
            )
        ],
        rows(
            model_row("invoices", "Invoice__c", "Number__c"),
            record_row("invoices", "N-1", inv(1), {"name": "INV-1", "number_c": "N-1"}),
        ),
        no_id=frozenset({("Invoice__c", inv(2))}),
    ),
    Case(
        "a custom record deleted is marked deleted; undeleted, live again",
        D_DELETE,
        tenant(custom_objects=[INVOICES]),
        [
            step(invoice(1, Name="INV-1"), invoice(2, Name="INV-2")),
            step(deleted(invoice(1, Name="INV-1")), deleted(invoice(2, Name="INV-2"))),
            step(invoice(2, Name="INV-2")),
        ],
        rows(
            model_row("invoices", "Invoice__c", "Name"),
            record_row("invoices", "INV-1", inv(1), {"name": "INV-1"}, "deleted"),
            record_row("invoices", "INV-2", inv(2), {"name": "INV-2"}),
        ),
    ),
]


CASES: list[Case] = [
    *ACCOUNT_MODES,
    *ACCOUNT_TRAITS,
    *CLOSED_WON_CASES,
    *FILTER_CASES,
    *OVER_TIME,
    *DELETES,
    *ID_CHANGES,
    *CONTACTS,
    *LINKS,
    *CUSTOM_OBJECTS,
]
