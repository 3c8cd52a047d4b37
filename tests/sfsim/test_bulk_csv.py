"""sfsim's Bulk API 2.0 CSV: every value quoted, null as empty, booleans as true/false."""

from __future__ import annotations

from typing import Any

from sfsim.server.bulk import _csv


def test_given_rows_of_every_kind_of_value_then_the_csv_is_as_salesforce_writes_it() -> None:
    rows: list[dict[str, Any]] = [
        {"Id": "001A", "IsDeleted": False, "Active__c": True, "Employees": 12, "Rate": 1.5},
        {"Id": "001B", "Name": 'Say "hi", then\nleave', "Employees": None},  # Rate missing
    ]

    text = _csv(["Id", "IsDeleted", "Active__c", "Name", "Employees", "Rate"], rows)

    assert text == (
        '"Id","IsDeleted","Active__c","Name","Employees","Rate"\n'
        '"001A","false","true","","12","1.5"\n'
        '"001B","","","Say ""hi"", then\nleave","",""\n'
    )


def test_given_one_as_a_number_then_it_stays_a_number_not_a_boolean() -> None:
    assert _csv(["N", "B"], [{"N": 1, "B": True}]) == '"N","B"\n"1","true"\n'
