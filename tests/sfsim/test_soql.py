"""sfsim.soql: the SOQL subset that simple-salesforce and Bulk API 2.0 query jobs send."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfsim.soql import (
    Compare,
    FieldRef,
    Not,
    Or,
    OrderItem,
    RelativeDate,
    SoqlError,
    count,
    no_such_object,
    parse,
    parse_datetime,
    run,
)

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)  # "today" is 2026-01-31 in UTC

TYPES = {
    "Id": "id",
    "Name": "string",
    "Industry": "picklist",
    "NumberOfEmployees": "int",
    "AnnualRevenue": "currency",
    "IsActive__c": "boolean",
    "CloseDate__c": "date",
    "SystemModstamp": "datetime",
    "Description": "textarea",
    "BillingAddress": "address",
}


def _account(n: int, name: str, industry: str | None, employees: int | None,
             revenue: float | None, active: bool | None, close: str | None,
             stamp: str | None, description: str | None = None) -> dict[str, object]:  # fmt: skip
    return {
        "Id": f"0015g00000{n:05d}AAA",
        "Name": name,
        "Industry": industry,
        "NumberOfEmployees": employees,
        "AnnualRevenue": revenue,
        "IsActive__c": active,
        "CloseDate__c": close,
        "SystemModstamp": stamp,
        "Description": description,
        "BillingAddress": None,
    }


# SystemModstamp in UTC: Acme 01-31T10:00, beta 01-31T09:30, Gamma 01-24T23:59:59,
# delta 01-01T01:00 (local date 2025-12-31), Epsilon null, Zeta 02-01T00:00.
ACCOUNTS = [
    _account(1, "Acme Corp", "Tech", 100, 1_000_000.0, True, "2026-01-31",
             "2026-01-31T10:00:00.000+0000", "100% organic"),
    _account(2, "beta_llc", "Tech", 5, 2500.5, False, "2026-01-30",
             "2026-01-31T11:30:00.000+0200"),
    _account(3, "Gamma", "Finance", None, None, None, "2026-01-01",
             "2026-01-24T23:59:59.000+0000", "O'Brien's"),
    _account(4, "delta", None, 50, 0.0, True, "2025-12-31", "2025-12-31T23:00:00.000-0200"),
    _account(5, "Epsilon", "Retail", 0, -10.0, False, None, None, "line\nbreak"),
    _account(6, "Zeta", "tech", 20, 2500.25, True, "2026-02-01", "2026-02-01T00:00:00Z"),
]  # fmt: skip
ALL = {"Acme Corp", "beta_llc", "Gamma", "delta", "Epsilon", "Zeta"}


def _names(soql: str) -> list[object]:
    return [row["Name"] for row in run(parse(soql), ACCOUNTS, TYPES, NOW)]


def _where(condition: str) -> set[object]:
    return set(_names(f"SELECT Name FROM Account WHERE {condition}"))


def _error(soql: str, records: list[dict[str, object]] | None = None) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        query = parse(soql)
        run(query, records or [], TYPES, NOW)
    return caught.value


FILTERS = [
    # comparison operators, typed by the field
    ("Industry = 'Tech'", {"Acme Corp", "beta_llc", "Zeta"}),
    ("Industry != 'Tech'", {"Gamma", "delta", "Epsilon"}),
    ("Industry <> 'Tech'", {"Gamma", "delta", "Epsilon"}),
    ("NumberOfEmployees < 20", {"beta_llc", "Epsilon"}),
    ("NumberOfEmployees <= 20", {"beta_llc", "Epsilon", "Zeta"}),
    ("NumberOfEmployees > 50", {"Acme Corp"}),
    ("NumberOfEmployees >= 50", {"Acme Corp", "delta"}),
    ("AnnualRevenue > 2500.25", {"Acme Corp", "beta_llc"}),
    ("AnnualRevenue < -5", {"Epsilon"}),
    ("AnnualRevenue = 0", {"delta"}),
    ("Name > 'delta'", {"Epsilon", "Gamma", "Zeta"}),
    ("Id = '0015g00000000010AAA'", set()),
    ("Id = '0015g0000000001AAA'", {"Acme Corp"}),
    ("Id = '0015g0000000001'", {"Acme Corp"}),
    ("Id = '0015G0000000001'", set()),
    # null
    ("Industry = null", {"delta"}),
    ("Industry != null", ALL - {"delta"}),
    ("NumberOfEmployees = NULL", {"Gamma"}),
    ("IsActive__c = null", {"beta_llc", "Gamma", "Epsilon"}),
    ("IsActive__c != null", {"Acme Corp", "delta", "Zeta"}),
    ("IsActive__c = false", {"beta_llc", "Gamma", "Epsilon"}),
    ("IsActive__c = TRUE", {"Acme Corp", "delta", "Zeta"}),
    # IN / NOT IN
    ("Industry IN ('tech', 'Retail')", {"Acme Corp", "beta_llc", "Zeta", "Epsilon"}),
    ("Industry NOT IN ('Tech')", {"Gamma", "delta", "Epsilon"}),
    ("Industry IN ('Finance', null)", {"Gamma", "delta"}),
    ("NumberOfEmployees IN (5, 50)", {"beta_llc", "delta"}),
    ("CloseDate__c IN (TODAY, 2026-01-01)", {"Acme Corp", "Gamma"}),
    # LIKE: % and _, escaped \% and \_, case-insensitive, whole value
    ("Name LIKE 'acme%'", {"Acme Corp"}),
    ("Name LIKE '%A'", {"Gamma", "delta", "Zeta"}),
    ("Name LIKE '____'", {"Zeta"}),
    ("Name LIKE 'bet_\\_llc'", {"beta_llc"}),
    ("Name LIKE 'beta\\_%'", {"beta_llc"}),
    ("Name LIKE 'beta\\%'", set()),
    ("Name LIKE 'acme'", set()),
    ("Description LIKE '100\\%%'", {"Acme Corp"}),
    ("Description LIKE '%\\_%'", set()),
    # string escapes
    ("Description = 'O\\'Brien\\'s'", {"Gamma"}),
    ("Description = 'line\\nbreak'", {"Epsilon"}),
    ("Description = 'LINE\\Nbreak'", {"Epsilon"}),
    ("Description = '\\u0031\\u00300% ORGANIC'", {"Acme Corp"}),
    # AND, OR, NOT and parentheses
    ("Industry = 'Tech' AND NumberOfEmployees > 10", {"Acme Corp", "Zeta"}),
    ("Industry = 'Finance' OR Industry = 'Retail' OR Name = 'Zeta'", {"Gamma", "Epsilon", "Zeta"}),
    ("(Industry = 'Tech' AND NumberOfEmployees > 10) OR Name = 'Gamma'",
     {"Acme Corp", "Zeta", "Gamma"}),
    ("Industry = 'Tech' AND (NumberOfEmployees > 10 OR Name = 'Gamma')", {"Acme Corp", "Zeta"}),
    ("NOT Industry = 'Tech'", {"Gamma", "delta", "Epsilon"}),
    ("NOT (Industry = 'Tech' OR Industry = null)", {"Gamma", "Epsilon"}),
    ("Name != 'x' AND (NOT NumberOfEmployees > 10)", {"beta_llc", "Gamma", "Epsilon"}),
    ("((Name = 'Gamma'))", {"Gamma"}),
    # date values and date literals (today is 2026-01-31 UTC)
    ("CloseDate__c = 2026-01-30", {"beta_llc"}),
    ("CloseDate__c > 2026-01-30", {"Acme Corp", "Zeta"}),
    ("CloseDate__c = TODAY", {"Acme Corp"}),
    ("CloseDate__c = YESTERDAY", {"beta_llc"}),
    ("CloseDate__c = TOMORROW", {"Zeta"}),
    ("CloseDate__c != TODAY", ALL - {"Acme Corp"}),
    ("CloseDate__c >= TODAY", {"Acme Corp", "Zeta"}),
    ("CloseDate__c > TODAY", {"Zeta"}),
    ("CloseDate__c <= YESTERDAY", {"beta_llc", "Gamma", "delta"}),
    ("CloseDate__c < YESTERDAY", {"Gamma", "delta"}),
    ("CloseDate__c = LAST_N_DAYS:1", {"Acme Corp", "beta_llc"}),
    ("CloseDate__c = LAST_N_DAYS:30", {"Acme Corp", "beta_llc", "Gamma"}),
    ("CloseDate__c = LAST_N_DAYS:31", {"Acme Corp", "beta_llc", "Gamma", "delta"}),
    ("CloseDate__c = NEXT_N_DAYS:1", {"Zeta"}),
    ("CloseDate__c = next_n_days:0", set()),
    ("CloseDate__c = THIS_MONTH", {"Acme Corp", "beta_llc", "Gamma"}),
    ("CloseDate__c = LAST_MONTH", {"delta"}),
    ("CloseDate__c < THIS_MONTH", {"delta"}),
    ("CloseDate__c > THIS_MONTH", {"Zeta"}),
    # datetime values with offsets are instants; date literals are UTC day ranges
    ("SystemModstamp > 2026-01-31T10:00:00Z", {"Zeta"}),
    ("SystemModstamp >= 2026-01-31T10:00:00Z", {"Acme Corp", "Zeta"}),
    ("SystemModstamp = 2026-01-31T12:00:00+02:00", {"Acme Corp"}),
    ("SystemModstamp = 2026-01-31T09:30:00.000+0000", {"beta_llc"}),
    ("SystemModstamp > 2026-01-31T09:00:00.000+0000", {"Acme Corp", "beta_llc", "Zeta"}),
    ("SystemModstamp < 2026-01-31T05:00:00-05:00", {"beta_llc", "Gamma", "delta"}),
    ("SystemModstamp = TODAY", {"Acme Corp", "beta_llc"}),
    ("SystemModstamp = TOMORROW", {"Zeta"}),
    ("SystemModstamp = LAST_N_DAYS:7", {"Acme Corp", "beta_llc", "Gamma"}),
    ("SystemModstamp = LAST_N_DAYS:6", {"Acme Corp", "beta_llc"}),
    ("SystemModstamp = THIS_MONTH", {"Acme Corp", "beta_llc", "Gamma", "delta"}),
    ("SystemModstamp = LAST_MONTH", set()),
    ("SystemModstamp < YESTERDAY", {"Gamma", "delta"}),
    ("SystemModstamp = null", {"Epsilon"}),
]  # fmt: skip


@pytest.mark.parametrize(("condition", "expected"), FILTERS, ids=[c for c, _ in FILTERS])
def test_given_accounts_when_filtering_then_the_matching_records_come_back(
    condition: str, expected: set[str]
) -> None:
    assert _where(condition) == expected


ORDERS = [
    ("ORDER BY NumberOfEmployees",
     ["Gamma", "Epsilon", "beta_llc", "Zeta", "delta", "Acme Corp"]),
    ("ORDER BY NumberOfEmployees ASC NULLS FIRST",
     ["Gamma", "Epsilon", "beta_llc", "Zeta", "delta", "Acme Corp"]),
    ("ORDER BY NumberOfEmployees NULLS LAST",
     ["Epsilon", "beta_llc", "Zeta", "delta", "Acme Corp", "Gamma"]),
    ("ORDER BY NumberOfEmployees DESC",
     ["Gamma", "Acme Corp", "delta", "Zeta", "beta_llc", "Epsilon"]),
    ("ORDER BY NumberOfEmployees DESC NULLS LAST",
     ["Acme Corp", "delta", "Zeta", "beta_llc", "Epsilon", "Gamma"]),
    ("ORDER BY Name", ["Acme Corp", "beta_llc", "delta", "Epsilon", "Gamma", "Zeta"]),
    ("order by name desc", ["Zeta", "Gamma", "Epsilon", "delta", "beta_llc", "Acme Corp"]),
    ("ORDER BY Industry, Name DESC",
     ["delta", "Gamma", "Epsilon", "Zeta", "beta_llc", "Acme Corp"]),
    ("ORDER BY CloseDate__c", ["Epsilon", "delta", "Gamma", "beta_llc", "Acme Corp", "Zeta"]),
    ("ORDER BY SystemModstamp DESC NULLS LAST",
     ["Zeta", "Acme Corp", "beta_llc", "Gamma", "delta", "Epsilon"]),
    ("ORDER BY IsActive__c, Name", ["beta_llc", "Epsilon", "Gamma", "Acme Corp", "delta", "Zeta"]),
    ("ORDER BY Name LIMIT 2", ["Acme Corp", "beta_llc"]),
    ("ORDER BY Name LIMIT 2 OFFSET 2", ["delta", "Epsilon"]),
    ("ORDER BY Name OFFSET 4", ["Gamma", "Zeta"]),
    ("ORDER BY Name LIMIT 0", []),
    ("ORDER BY Name OFFSET 10", []),
]  # fmt: skip


@pytest.mark.parametrize(("clause", "expected"), ORDERS, ids=[c for c, _ in ORDERS])
def test_given_accounts_when_ordering_and_paging_then_rows_come_in_that_order(
    clause: str, expected: list[str]
) -> None:
    assert _names(f"SELECT Name FROM Account {clause}") == expected


def test_given_mixed_case_names_when_running_then_rows_use_canonical_names_in_select_order() -> (
    None
):
    soql = "select name, INDUSTRY, id from account where NAME = 'ACME CORP'"

    rows = run(parse(soql), ACCOUNTS, TYPES, NOW)

    assert rows == [{"Name": "Acme Corp", "Industry": "Tech", "Id": "0015g0000000001AAA"}]
    assert list(rows[0]) == ["Name", "Industry", "Id"]


def test_given_lowercase_keywords_when_running_then_every_clause_applies() -> None:
    soql = (
        "select Name from Account where Industry = 'tech' and NumberOfEmployees > 10 "
        "order by Name desc nulls last limit 1 offset 0"
    )

    assert _names(soql) == ["Zeta"]


def test_given_a_record_without_a_selected_key_when_running_then_the_field_is_null() -> None:
    rows = run(parse("SELECT Id, Name FROM Account"), [{"Id": "001"}], TYPES, NOW)

    assert rows == [{"Id": "001", "Name": None}]


def test_given_count_query_when_running_then_no_rows_and_count_gives_the_total() -> None:
    query = parse("SELECT COUNT() FROM Account WHERE Industry = 'Tech'")

    assert query.is_count
    assert run(query, ACCOUNTS, TYPES, NOW) == []
    assert count(query, ACCOUNTS, TYPES, NOW) == 3


@pytest.mark.parametrize(
    ("soql", "expected"),
    [
        ("SELECT COUNT() FROM Account", 6),
        ("SELECT count() FROM Account WHERE CloseDate__c = THIS_MONTH", 3),
        ("SELECT COUNT() FROM Account LIMIT 2", 2),
        ("SELECT Name FROM Account WHERE Industry = null", 1),
        ("SELECT Name FROM Account LIMIT 4 OFFSET 3", 3),
    ],
)
def test_given_queries_when_counting_then_the_number_of_yielded_records_comes_back(
    soql: str, expected: int
) -> None:
    assert count(parse(soql), ACCOUNTS, TYPES, NOW) == expected


def test_given_a_query_when_parsing_then_the_tree_keeps_what_was_written() -> None:
    soql = (
        "SELECT Id, name FROM Contact WHERE NOT (Email <> null OR CreatedDate = LAST_N_DAYS:7) "
        "ORDER BY name DESC NULLS LAST, Id LIMIT 10 OFFSET 5"
    )

    query = parse(soql)

    def at(name: str, start: int = 0) -> FieldRef:
        return FieldRef(name, soql.index(name, start))

    assert (query.object_name, query.object_pos) == ("Contact", soql.index("Contact"))
    assert query.field_names == ("Id", "name")
    assert (query.limit, query.offset, query.is_count) == (10, 5, False)
    assert query.where == Not(
        Or(
            (
                Compare(at("Email"), "!=", None),
                Compare(at("CreatedDate"), "=", RelativeDate("LAST_N_DAYS", 7)),
            )
        )
    )
    assert query.order_by == (
        OrderItem(at("name", soql.index("ORDER")), descending=True, nulls_first=False),
        OrderItem(at("Id", soql.index("LAST,")), descending=False, nulls_first=None),
    )


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("2026-01-31T10:00:00Z", datetime(2026, 1, 31, 10, tzinfo=UTC)),
        ("2026-01-31T10:00:00.000+0000", datetime(2026, 1, 31, 10, tzinfo=UTC)),
        ("2026-01-31T10:00:00+02:00", datetime(2026, 1, 31, 8, tzinfo=UTC)),
        ("2026-01-31T10:00:00.5-0130", datetime(2026, 1, 31, 11, 30, 0, 500000, tzinfo=UTC)),
    ],
)
def test_given_salesforce_datetime_text_when_parsing_then_the_utc_instant_comes_back(
    literal: str, expected: datetime
) -> None:
    assert parse_datetime(literal) == expected
    assert parse(f"SELECT Id FROM Account WHERE SystemModstamp = {literal}").where == Compare(
        FieldRef("SystemModstamp", 29), "=", expected
    )


def test_given_a_date_value_when_parsing_then_it_becomes_a_date() -> None:
    where = parse("SELECT Id FROM Account WHERE CloseDate__c >= 2026-01-31").where

    assert where == Compare(FieldRef("CloseDate__c", 29), ">=", date(2026, 1, 31))


MALFORMED = [
    # AND and OR need parentheses when mixed, and NOT negates one parenthesized condition
    ("SELECT Name FROM Account WHERE Name = 'a' AND Industry = 'b' OR Industry = 'c'",
     "unexpected token: 'OR'"),
    ("SELECT Name FROM Account WHERE Name = 'a' OR Industry = 'b' AND Industry = 'c'",
     "unexpected token: 'AND'"),
    ("SELECT Name FROM Account WHERE Name = 'a' AND NOT Industry = 'b'",
     "unexpected token: 'NOT'"),
    ("SELECT Name FROM Account WHERE NOT Name = 'a' AND Industry = 'b'",
     "unexpected token: 'AND'"),
    ("SELECT Name FROM Account WHERE", "unexpected token: '<EOF>'"),
    ("SELECT FROM Account", "unexpected token: 'FROM'"),
    ("SELECT Name Account", "unexpected token: 'Account'"),
    ("SELECT Name, FROM Account", "unexpected token: 'FROM'"),
    ("SELECT Name FROM Account WHERE (Name = 'a'", "unexpected token: '<EOF>'"),
    ("SELECT Name FROM Account WHERE Name = 'abc", "unterminated string literal"),
    ("SELECT Name FROM Account WHERE Name = \"abc\"", "unexpected token: '\"abc\"'"),
    ("SELECT Name FROM Account WHERE Name = 'a\\qb'", "illegal escape '\\q'"),
    ("SELECT Name FROM Account WHERE Name = 'a\\%'", "only valid in a LIKE pattern"),
    ("SELECT Name FROM Account WHERE Name NOT LIKE 'a%'", "unexpected token: 'LIKE'"),
    ("SELECT Name FROM Account WHERE Name LIKE 5", "unexpected token: '5'"),
    ("SELECT Name FROM Account WHERE Name == 'a'", "unexpected token: '='"),
    ("SELECT Name FROM Account LIMIT -1", "unexpected token: '-1'"),
    ("SELECT Name FROM Account LIMIT 1.5", "unexpected token: '1.5'"),
    ("SELECT Name FROM Account OFFSET 1 LIMIT 1", "unexpected token: 'LIMIT'"),
    ("SELECT Name FROM Account ORDER Name", "unexpected token: 'Name'"),
    ("SELECT Name FROM Account ORDER BY Name NULLS", "unexpected token: '<EOF>'"),
    ("SELECT Name FROM Account WHERE CloseDate__c = 2026-02-30", "invalid date literal"),
    ("SELECT Name FROM Account WHERE CloseDate__c = LAST_N_DAYS", "unexpected token: '<EOF>'"),
    ("SELECT Name FROM Account WHERE CloseDate__c = LAST_N_DAYS:-1", "invalid date literal"),
    ("SELECT Name FROM Account WHERE CloseDate__c = SOMEDAY", "unexpected token: 'SOMEDAY'"),
    # valid SOQL that sfsim does not implement
    ("SELECT Name FROM Account WHERE CloseDate__c = THIS_YEAR",
     "sfsim does not support the date literal THIS_YEAR"),
    ("SELECT Name FROM Account WHERE CloseDate__c = N_DAYS_AGO:3",
     "sfsim does not support the date literal N_DAYS_AGO"),
    ("SELECT FIELDS(ALL) FROM Account LIMIT 200", "sfsim does not support FIELDS(...)"),
    ("SELECT FIELDS(STANDARD) FROM Account", "sfsim does not support FIELDS(...)"),
    ("SELECT Account.Name FROM Contact", "sfsim does not support relationship fields"),
    ("SELECT Id FROM Contact WHERE Account.Name = 'x'", "relationship fields ('Account.Name')"),
    ("SELECT COUNT(Id) FROM Account", "sfsim does not support COUNT(field)"),
    ("SELECT MAX(NumberOfEmployees) FROM Account", "functions in SELECT"),
    ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "sfsim does not support subqueries"),
    ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)", "semi-joins"),
    ("SELECT Name FROM Account GROUP BY Name", "sfsim does not support the GROUP clause"),
    ("SELECT Name FROM Account WHERE Name = :name", "bind variables"),
    ("SELECT Name FROM Account WHERE Industry INCLUDES ('a')", "does not support INCLUDES"),
]  # fmt: skip


@pytest.mark.parametrize(("soql", "message"), MALFORMED, ids=[s for s, _ in MALFORMED])
def test_given_malformed_soql_when_parsing_then_malformed_query(soql: str, message: str) -> None:
    with pytest.raises(SoqlError) as caught:
        parse(soql)

    assert caught.value.error_code == "MALFORMED_QUERY"
    assert message in caught.value.message


def test_given_a_syntax_error_when_parsing_then_the_message_points_at_the_token() -> None:
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Name\nFROM Account\nWHERE Name = 'a' AND Id = 'b' OR Id = 'c'")

    assert caught.value.message == (
        "\nWHERE Name = 'a' AND Id = 'b' OR Id = 'c'"
        "\n                              ^"
        "\nERROR at Row:3:Column:31"
        "\nunexpected token: 'OR'"
    )


def test_given_an_unknown_field_when_running_then_invalid_field_in_salesforce_words() -> None:
    error = _error("SELECT Id, Nme FROM Account")

    assert error.error_code == "INVALID_FIELD"
    assert error.message == (
        "\nSELECT Id, Nme FROM Account"
        "\n           ^"
        "\nERROR at Row:1:Column:12"
        "\nNo such column 'Nme' on entity 'Account'. If you are attempting to use a custom field, "
        "be sure to append the '__c' after the custom field name. Please reference your WSDL or "
        "the describe call for the appropriate names."
    )


INVALID = [
    ("SELECT Name FROM Account WHERE Bogus__c = 1", "No such column 'Bogus__c' on entity 'Account'"),
    ("SELECT Name FROM Account ORDER BY Bogus", "No such column 'Bogus' on entity 'Account'"),
    ("SELECT COUNT() FROM Account WHERE Bogus = 1", "No such column 'Bogus'"),
    ("SELECT Name FROM Account WHERE Name = 5",
     "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"),
    ("SELECT Name FROM Account WHERE name = TODAY", "field 'Name' must be of type string"),
    ("SELECT Name FROM Account WHERE Id IN ('a', 1)", "field 'Id' must be of type id"),
    ("SELECT Name FROM Account WHERE NumberOfEmployees = '5'",
     "field 'NumberOfEmployees' must be of type number and should not be enclosed in quotes"),
    ("SELECT Name FROM Account WHERE IsActive__c = 'true'", "must be of type boolean"),
    ("SELECT Name FROM Account WHERE CloseDate__c = 2026-01-31T00:00:00Z",
     "field 'CloseDate__c' must be of type date and should not be enclosed in quotes"),
    ("SELECT Name FROM Account WHERE SystemModstamp = 2026-01-31",
     "field 'SystemModstamp' must be of type dateTime"),
    ("SELECT Name FROM Account WHERE SystemModstamp > '2026-01-31T00:00:00Z'",
     "field 'SystemModstamp' must be of type dateTime"),
    ("SELECT Name FROM Account WHERE NumberOfEmployees LIKE '5%'", "LIKE needs text"),
    ("SELECT Name FROM Account WHERE BillingAddress = null",
     "field 'BillingAddress' can not be filtered in a query call"),
    ("SELECT Name FROM Account ORDER BY BillingAddress",
     "field 'BillingAddress' can not be sorted in a query call"),
]  # fmt: skip


@pytest.mark.parametrize(("soql", "message"), INVALID, ids=[s for s, _ in INVALID])
def test_given_a_query_wrong_for_the_fields_when_running_then_invalid_field_even_with_no_records(
    soql: str, message: str
) -> None:
    error = _error(soql)

    assert error.error_code == "INVALID_FIELD"
    assert message in error.message


def test_given_a_field_selected_twice_when_running_then_duplicate_field_error() -> None:
    error = _error("SELECT Name, Id, NAME FROM Account")

    assert (error.error_code, error.message.splitlines()[-1]) == (
        "MALFORMED_QUERY",
        "duplicate field selected: Name",
    )


def test_given_an_object_the_org_lacks_when_asking_then_invalid_type_points_at_it() -> None:
    error = no_such_object(parse("SELECT Id FROM Acount"))

    assert error.error_code == "INVALID_TYPE"
    assert error.message.startswith(
        "\nSELECT Id FROM Acount\n               ^\nERROR at Row:1:Column:16"
    )
    assert "sObject type 'Acount' is not supported." in error.message


def test_given_a_naive_now_when_running_then_value_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run(parse("SELECT Id FROM Account"), [], TYPES, datetime(2026, 1, 31))  # noqa: DTZ001


def test_given_another_now_when_using_date_literals_then_the_ranges_move_with_it() -> None:
    query = parse("SELECT Name FROM Account WHERE CloseDate__c = LAST_N_DAYS:1")
    later = datetime(2026, 2, 1, 0, 30, tzinfo=UTC)

    assert {r["Name"] for r in run(query, ACCOUNTS, TYPES, later)} == {"Acme Corp", "Zeta"}


def test_given_now_in_another_offset_when_using_today_then_the_utc_day_counts() -> None:
    query = parse("SELECT Name FROM Account WHERE CloseDate__c = TODAY")
    now = datetime.fromisoformat("2026-01-31T23:30:00-05:00")  # 2026-02-01 in UTC

    assert [r["Name"] for r in run(query, ACCOUNTS, TYPES, now)] == ["Zeta"]


# --- properties --------------------------------------------------------------------------------

PROPERTY_TYPES = {"Id": "id", "Amount": "double", "Name": "string"}
_records = st.lists(
    st.fixed_dictionaries(
        {
            "Amount": st.none() | st.integers(-3, 3),
            "Name": st.none() | st.text(alphabet="abAB_%", max_size=3),
        }
    ),
    max_size=12,
).map(lambda rows: [{"Id": str(i), **row} for i, row in enumerate(rows)])
_ops = st.sampled_from(["=", "!=", "<>", "<", "<=", ">", ">="])
_texts = st.text(alphabet="abAB_%", max_size=3)
_conditions = st.one_of(
    st.builds("Amount {} {}".format, _ops, st.integers(-3, 3)),
    st.builds("Amount {} null".format, st.sampled_from(["=", "!="])),
    st.builds("Name {} '{}'".format, _ops, _texts),
    st.builds("Name LIKE '{}'".format, _texts),
    st.builds(
        "Amount {}IN ({})".format,
        st.sampled_from(["", "NOT "]),
        st.lists(st.integers(-3, 3), min_size=1, max_size=3).map(lambda v: ", ".join(map(str, v))),
    ),
)


def _ids(records: list[dict[str, object]], condition: str) -> set[object]:
    query = parse(f"SELECT Id FROM Thing WHERE {condition}")
    return {row["Id"] for row in run(query, records, PROPERTY_TYPES, NOW)}


@given(_records, _conditions)
def test_given_any_condition_when_negated_then_the_two_queries_partition_the_records(
    records: list[dict[str, object]], condition: str
) -> None:
    matched, unmatched = _ids(records, condition), _ids(records, f"NOT ({condition})")

    assert matched.isdisjoint(unmatched)
    assert matched | unmatched == {row["Id"] for row in records}


@given(_records, _conditions, _conditions)
def test_given_two_conditions_when_combined_then_or_is_union_and_and_is_intersection(
    records: list[dict[str, object]], left: str, right: str
) -> None:
    a, b = _ids(records, left), _ids(records, right)

    assert _ids(records, f"({left}) OR ({right})") == a | b
    assert _ids(records, f"({left}) AND ({right})") == a & b


_PYTHON_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<>": operator.ne,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


@given(_records, _ops, st.integers(-3, 3))
def test_given_numbers_when_compared_then_python_agrees_and_nulls_match_only_not_equal(
    records: list[dict[str, object]], op: str, value: int
) -> None:
    expected = {
        row["Id"]
        for row in records
        if (row["Amount"] is None and op in ("!=", "<>"))
        or (row["Amount"] is not None and _PYTHON_OPS[op](row["Amount"], value))
    }

    assert _ids(records, f"Amount {op} {value}") == expected
