"""Filter cases: every operator on every field type, one case per condition.

Each line is `(field, operator, value, [(the account's value, synced?), ...])`, written by hand:
the account holding each value is synced exactly when the line says so. The values sit on both
sides of the condition and, for the ordered ones, where comparing as text would answer wrongly
(9 >= 10 is false, "9" >= "10" is true; 13:00+05:00 is before 12:00+02:00).
Types (tests/spec/builders.TYPES): NumberOfEmployees int, AnnualRevenue currency, Score__c
double, Share__c percent, SLAExpirationDate__c date, LastSeen__c datetime, Active__c boolean,
Industry picklist, AccountNumber string.
"""

from __future__ import annotations

from typing import Any

from tests.spec.builders import (
    Case,
    acc,
    account,
    account_row,
    all_of,
    any_of,
    create,
    rows,
    step,
    tenant,
    where,
)

G_FILTER_ACCOUNTS = "Gather will no only sync an Account if the conditions match."
G_CONDITION = "Choose a Salesforce field to filter, a comparison method, and a value"
G_ALL_ANY = "Choose whether to require all conditions match or only 1 of them"
D_TYPED = (
    "DESIGN: Filters: all or any of the conditions; operators equals, not_equals, contains, "
    "not_contains, starts_with, ends_with, gt, gte, lt, lte, is_empty, is_not_empty, in, not_in; "
    "typed by the field's describe type (number, date, datetime, boolean, picklist, text)."
)
T, F = True, False
# the trait a filtered field also fills (a default account trait), written by hand
TRAIT_OF = {"NumberOfEmployees": "number_of_employees", "Industry": "industry"}

Line = tuple[str, str, Any, list[tuple[Any, bool]]]

NUMBERS: list[Line] = [
    ("NumberOfEmployees", "equals", 10, [(10, T), (9, F), (100, F), (None, F)]),
    ("NumberOfEmployees", "not_equals", 10, [(10, F), (9, T), (None, T)]),
    ("NumberOfEmployees", "gt", 10, [(9, F), (10, F), (11, T), (100, T), (None, F)]),
    ("NumberOfEmployees", "gte", 10, [(2, F), (9, F), (10, T), (100, T), (None, F)]),
    ("NumberOfEmployees", "gte", "10", [(9, F), (10, T), (100, T)]),
    ("NumberOfEmployees", "lt", 100, [(9, T), (50, T), (100, F), (1200, F), (None, F)]),
    ("NumberOfEmployees", "lte", 100, [(50, T), (100, T), (101, F), (1200, F)]),
    ("NumberOfEmployees", "in", [10, 250], [(10, T), (250, T), (12, F), (None, F)]),
    ("NumberOfEmployees", "not_in", [10, 250], [(10, F), (12, T), (None, T)]),
    ("NumberOfEmployees", "is_empty", None, [(None, T), (0, F)]),
    ("NumberOfEmployees", "is_not_empty", None, [(None, F), (0, T)]),
    (
        "AnnualRevenue",
        "gt",
        1_000_000,
        [(999_999.5, F), (1_000_000, F), (1_000_000.01, T), (25_000_000, T), (None, F)],
    ),
    ("AnnualRevenue", "gt", "1000000", [(999_999.5, F), (5_000_000, T)]),
    ("AnnualRevenue", "lte", 1_000_000, [(999_999.5, T), (1_000_000.0, T), (5_000_000, F)]),
    ("AnnualRevenue", "equals", 1_000_000, [(1_000_000, T), (1_000_000.0, T), (999_999.99, F)]),
    ("Score__c", "lt", 2.5, [(2.49, T), (-1, T), (2.5, F), (10, F)]),
    ("Score__c", "gte", 2.5, [(2.5, T), (10.25, T), (2.4, F)]),
    ("Score__c", "not_in", [1.5, 2], [(2.0, F), (1.5, F), (3, T)]),
    ("Share__c", "gte", 50, [(9, F), (49.9, F), (50, T), (100, T)]),
    ("Share__c", "lt", 50, [(9, T), (50, F)]),
    ("Share__c", "is_empty", None, [(None, T), (0, F)]),
]

DATES: list[Line] = [
    (
        "SLAExpirationDate__c",
        "equals",
        "2026-01-31",
        [("2026-01-31", T), ("2026-02-01", F), (None, F)],
    ),
    (
        "SLAExpirationDate__c",
        "not_equals",
        "2026-01-31",
        [("2026-01-31", F), ("2026-02-01", T), (None, T)],
    ),
    (
        "SLAExpirationDate__c",
        "gt",
        "2026-01-31",
        [("2026-02-01", T), ("2026-01-31", F), ("2025-12-31", F), ("2026-10-01", T)],
    ),
    ("SLAExpirationDate__c", "gte", "2026-01-31", [("2026-01-31", T), ("2026-01-30", F)]),
    ("SLAExpirationDate__c", "lt", "2026-01-31", [("2026-01-30", T), ("2026-01-31", F), (None, F)]),
    ("SLAExpirationDate__c", "lte", "2026-01-31", [("2026-01-31", T), ("2026-02-01", F)]),
    (
        "SLAExpirationDate__c",
        "in",
        ["2026-01-31", "2026-03-01"],
        [("2026-03-01", T), ("2026-02-01", F)],
    ),
    ("SLAExpirationDate__c", "not_in", ["2026-01-31"], [("2026-01-31", F), ("2026-02-01", T)]),
    ("SLAExpirationDate__c", "gt", "2026-01-31T12:00:00Z", [("2026-02-01", T), ("2026-01-31", F)]),
    ("SLAExpirationDate__c", "is_not_empty", None, [("2026-01-31", T), (None, F)]),
    ("SLAExpirationDate__c", "is_empty", None, [(None, T), ("2026-01-31", F)]),
    (
        "LastSeen__c",
        "not_equals",
        "2026-01-31T10:00:00Z",
        [("2026-01-31T05:00:00.000-05:00", F), ("2026-01-31T10:00:00.000+02:00", T), (None, T)],
    ),
    (
        "LastSeen__c",
        "in",
        ["2026-01-31T10:00:00Z", "2026-02-01T00:00:00+01:00"],
        [
            ("2026-01-31T11:00:00.000+01:00", T),
            ("2026-01-31T23:00:00.000Z", T),
            ("2026-02-01T00:00:00.000Z", F),
        ],
    ),
    ("LastSeen__c", "is_not_empty", None, [("2026-01-31T10:00:00.000Z", T), (None, F)]),
    (
        "LastSeen__c",
        "gt",
        "2026-01-31T12:00:00+02:00",
        [
            ("2026-01-31T10:30:00.000Z", T),
            ("2026-01-31T11:00:00.000+0000", T),
            ("2026-01-31T10:00:00.000Z", F),
            ("2026-01-31T09:59:59.000Z", F),
            ("2026-01-31T13:00:00.000+05:00", F),
        ],
    ),
    (
        "LastSeen__c",
        "equals",
        "2026-01-31T10:00:00Z",
        [
            ("2026-01-31T12:00:00.000+02:00", T),
            ("2026-01-31T10:00:00.000+0000", T),
            ("2026-01-31T10:00:01.000Z", F),
        ],
    ),
    (
        "LastSeen__c",
        "gte",
        "2026-01-31T00:00:00-05:00",
        [("2026-01-31T04:59:59.000Z", F), ("2026-01-31T05:00:00.000Z", T)],
    ),
    (
        "LastSeen__c",
        "lt",
        "2026-01-31T10:00:00Z",
        [("2026-01-31T11:59:00.000+02:00", T), ("2026-01-31T10:00:00.000Z", F)],
    ),
    (
        "LastSeen__c",
        "lte",
        "2026-01-31",
        [
            ("2026-01-31T00:00:00.000Z", T),
            ("2026-01-30T23:59:59.000Z", T),
            ("2026-01-30T23:59:59.000-01:00", F),
        ],
    ),
    (
        "LastSeen__c",
        "not_in",
        ["2026-01-31T10:00:00Z"],
        [("2026-01-31T11:00:00.000+01:00", F), ("2026-01-31T11:00:00.000Z", T), (None, T)],
    ),
    ("LastSeen__c", "is_empty", None, [(None, T), ("2026-01-31T10:00:00.000Z", F)]),
]

BOOLEANS: list[Line] = [
    ("Active__c", "equals", True, [(True, T), (False, F), (None, F)]),
    ("Active__c", "equals", False, [(False, T), (True, F)]),
    ("Active__c", "equals", "true", [(True, T), (False, F)]),
    ("Active__c", "not_equals", True, [(False, T), (True, F), (None, T)]),
    ("Active__c", "in", [True], [(True, T), (False, F)]),
    ("Active__c", "not_in", [True], [(False, T), (True, F)]),
    ("Active__c", "is_empty", None, [(None, T), (False, F)]),
    ("Active__c", "is_not_empty", None, [(False, T), (None, F)]),
]

TEXTS: list[Line] = [
    ("Industry", "equals", "banking", [("Banking", T), ("BANKING", T), ("Retail", F), (None, F)]),
    ("Industry", "not_equals", "Banking", [("banking", F), ("Retail", T), (None, T)]),
    (
        "Industry",
        "in",
        ["Banking", "retail"],
        [("Retail", T), ("banking", T), ("Energy", F), (None, F)],
    ),
    ("Industry", "not_in", ["Banking", "retail"], [("Retail", F), ("Energy", T), (None, T)]),
    (
        "Industry",
        "contains",
        "tech",
        [("Technology", T), ("Biotechnology", T), ("Energy", F), (None, F)],
    ),
    ("Industry", "not_contains", "TECH", [("Biotechnology", F), ("Energy", T), (None, T)]),
    ("Industry", "starts_with", "bio", [("Biotechnology", T), ("Technology", F)]),
    ("Industry", "ends_with", "ING", [("Banking", T), ("Engineering", T), ("Retail", F)]),
    ("Industry", "is_empty", None, [(None, T), ("", T), ("Banking", F)]),
    ("Industry", "is_not_empty", None, [("", F), (None, F), ("Banking", T)]),
    ("AccountNumber", "equals", "acc-1", [("ACC-1", T), ("ACC-10", F)]),
    ("AccountNumber", "not_equals", "acc-1", [("ACC-1", F), ("", T)]),
    ("AccountNumber", "contains", "-00", [("ACC-001", T), ("ACC-1", F)]),
    ("AccountNumber", "not_contains", "x", [("ACC-1", T), ("ACC-X", F), (None, T)]),
    ("AccountNumber", "starts_with", "acc", [("ACC-1", T), ("X-ACC", F), (None, F)]),
    ("AccountNumber", "ends_with", "-1", [("acc-1", T), ("acc-10", F)]),
    ("AccountNumber", "in", ["ACC-1", "acc-2"], [("acc-1", T), ("ACC-2", T), ("ACC-3", F)]),
    ("AccountNumber", "not_in", ["ACC-1", "acc-2"], [("acc-2", F), ("ACC-3", T), (None, T)]),
    ("AccountNumber", "is_empty", None, [("", T), (None, T), ("ACC-1", F)]),
    ("AccountNumber", "is_not_empty", None, [("ACC-1", T), ("", F), (None, F)]),
]


def _case(line: Line) -> Case:
    field_name, operator, value, outcomes = line
    accounts = [account(n, Name=f"A{n}", **{field_name: v}) for n, (v, _) in enumerate(outcomes, 1)]
    trait = TRAIT_OF.get(field_name)
    synced = [
        account_row(
            acc(n),
            acc(n),
            {"name": f"A{n}"} | ({trait: v} if trait and v is not None else {}),
        )
        for n, (v, ok) in enumerate(outcomes, 1)
        if ok
    ]
    return Case(
        f"filter {field_name} {operator} {value!r}",
        {"equals": G_FILTER_ACCOUNTS, "gte": G_CONDITION}.get(operator, D_TYPED),
        tenant(accounts=create("Id", filter=all_of(where(field_name, operator, value)))),
        [step(*accounts)],
        rows(*synced),
    )


def _both(match: str, outcomes: list[tuple[str, int, bool]]) -> Case:
    """Industry equals Banking, NumberOfEmployees gte 10: all of them, or any."""
    conditions = (where("Industry", "equals", "Banking"), where("NumberOfEmployees", "gte", 10))
    accounts = [
        account(n, Name=f"A{n}", Industry=industry, NumberOfEmployees=staff)
        for n, (industry, staff, _) in enumerate(outcomes, 1)
    ]
    synced = [
        account_row(
            acc(n),
            acc(n),
            {"name": f"A{n}", "industry": industry, "number_of_employees": staff},
        )
        for n, (industry, staff, ok) in enumerate(outcomes, 1)
        if ok
    ]
    rule = all_of(*conditions) if match == "all" else any_of(*conditions)
    return Case(
        f"filter: {match} of two conditions",
        G_ALL_ANY,
        tenant(accounts=create("Id", filter=rule)),
        [step(*accounts)],
        rows(*synced),
    )


FILTER_CASES = [
    *(_case(line) for line in [*NUMBERS, *DATES, *BOOLEANS, *TEXTS]),
    _both("all", [("Banking", 12, T), ("Banking", 5, F), ("Retail", 12, F), ("Retail", 5, F)]),
    _both("any", [("Banking", 12, T), ("Banking", 5, T), ("Retail", 12, T), ("Retail", 5, F)]),
]
