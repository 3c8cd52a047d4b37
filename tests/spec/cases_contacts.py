"""Spec cases of contacts, their account link, and custom objects."""

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
from tests.spec.guide import (
    ACME,
    D_DELETE,
    D_LINK,
    D_MODEL,
    G_CREATE_USERS,
    G_CUSTOM,
    G_CUSTOM_FILTER,
    G_FILTER_CONTACTS,
    G_LINK,
    G_MODEL,
    G_UPDATE_USERS,
    G_USER_SNAKE,
    G_USER_TRAITS,
    I_EMPTY_ID,
    I_ID_CHANGED,
)
from tests.spec.reference import Key, Row

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
