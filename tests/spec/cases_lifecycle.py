"""Spec cases over time: filters and config changes, deletes, the create-mode id field
changing or empty."""

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
    deal,
    deleted,
    rows,
    step,
    tenant,
    user_row,
    where,
)
from tests.spec.cases_accounts import CLOSED_WON
from tests.spec.guide import (
    ACME,
    BY_ID,
    D_CONFIG,
    D_DELETE,
    D_STOP,
    I_EMPTY_ID,
    I_ID_CHANGED,
)

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
