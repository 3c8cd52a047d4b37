"""A Pub/Sub event's record -> the CometD payload of the same change; expected payloads are
written by hand from the CDC guide's comparison of the two forms."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.salesforce.errors import NormalizeError
from connectors.salesforce.pubsub.bitmap import SchemaIndex
from connectors.salesforce.pubsub.decode import cometd_payload


def nullable(name: str, avro_type: Any, doc: str) -> dict[str, Any]:
    """A field as an org's schema gives it: nullable, its Salesforce type in doc."""
    return {"name": name, "type": ["null", avro_type], "doc": doc}


def event_schema(*fields: dict[str, Any]) -> dict[str, Any]:
    header = {"type": "record", "name": "ChangeEventHeader", "fields": []}
    head = {"name": "ChangeEventHeader", "type": header}
    return {"type": "record", "name": "AccountChangeEvent", "fields": [head, *fields]}


ADDRESS = {
    "type": "record",
    "name": "Address",
    "fields": [nullable(n, "string", "Data:String") for n in ("Street", "City")],
}
SCHEMA = event_schema(
    nullable("Name", "string", "Data:String"),  # 1
    nullable("BillingAddress", ADDRESS, "Data:Address"),  # 2
    {"name": "ShippingAddress", "type": ["null", "Address"], "doc": "Data:Address"},  # 3
    nullable("Phone", "string", "Data:Phone"),  # 4
    nullable("LastModifiedDate", "long", "Data:DateTime"),  # 5
    nullable("CloseDate", "long", "Data:DateOnly"),  # 6
)


def header(change_type: str, changed: list[str], nulled: list[str] | None = None) -> dict[str, Any]:
    return {
        "entityName": "Account",
        "changeType": change_type,
        "changedFields": changed,
        "nulledFields": nulled or [],
        "diffFields": [],
    }


def test_given_an_update_when_decoded_then_only_changed_fields_come_and_a_nulled_one_is_null() -> (
    None
):
    record = {
        "ChangeEventHeader": header("UPDATE", ["0x30", "2-0x02"], ["0x10"]),
        "Name": None,  # unchanged: null in Pub/Sub, absent in CometD
        "BillingAddress": {"Street": None, "City": "Lyon"},
        "ShippingAddress": None,
        "Phone": None,
        "LastModifiedDate": 1_700_000_000_123,
        "CloseDate": None,
    }

    payload = cometd_payload(record, SchemaIndex.of(SCHEMA))

    assert {k: v for k, v in payload.items() if k != "ChangeEventHeader"} == {
        "Phone": None,
        "LastModifiedDate": "2023-11-14T22:13:20.123Z",
        "BillingAddress": {"City": "Lyon"},
    }
    assert payload["ChangeEventHeader"]["changedFields"] == [
        "Phone",
        "LastModifiedDate",
        "BillingAddress.City",
    ]


def test_given_a_field_named_in_diff_fields_when_decoded_then_it_comes_in_cometds_diff_form() -> (
    None
):
    diff = "--- \n+++ 682b87\n@@ -2,1 +2,1 @@\n-Business applications\n+Business apps"
    record = {
        "ChangeEventHeader": header("UPDATE", ["0x22"]) | {"diffFields": ["0x02"]},
        "Name": diff,  # the diff's text in place of the value
        "BillingAddress": None,
        "ShippingAddress": None,
        "Phone": None,
        "LastModifiedDate": 1_700_000_000_123,
        "CloseDate": None,
    }

    payload = cometd_payload(record, SchemaIndex.of(SCHEMA))

    assert payload["Name"] == {"diff": diff}
    assert payload["LastModifiedDate"] == "2023-11-14T22:13:20.123Z"
    assert payload["ChangeEventHeader"]["diffFields"] == []  # CometD names none


def test_given_a_create_when_decoded_then_fields_with_values_come_with_dates_as_text() -> None:
    record = {
        "ChangeEventHeader": header("CREATE", []),
        "Name": "Acme",
        "BillingAddress": {"Street": "1 Main", "City": None},
        "ShippingAddress": {"Street": None, "City": None},
        "Phone": None,
        "LastModifiedDate": None,
        "CloseDate": 1_700_006_400_000,
    }

    payload = cometd_payload(record, SchemaIndex.of(SCHEMA))

    assert {k: v for k, v in payload.items() if k != "ChangeEventHeader"} == {
        "Name": "Acme",
        "BillingAddress": {"Street": "1 Main"},
        "CloseDate": "2023-11-15",
    }


@pytest.mark.parametrize("change_type", ["DELETE", "GAP_UPDATE", "GAP_OVERFLOW"])
def test_given_an_event_without_fields_when_decoded_then_only_the_header_comes(
    change_type: str,
) -> None:
    record = {"ChangeEventHeader": header(change_type, []), "Name": None}

    assert list(cometd_payload(record, SchemaIndex.of(SCHEMA))) == ["ChangeEventHeader"]


def test_given_a_changed_field_with_no_value_that_is_not_nulled_when_decoded_then_it_is_refused() -> (
    None
):
    record = {"ChangeEventHeader": header("UPDATE", ["0x10"]), "Phone": None}

    with pytest.raises(
        NormalizeError, match="changedFields names Phone with no value, and nulledFields does not"
    ):
        cometd_payload(record, SchemaIndex.of(SCHEMA))


# The CDC guide's printed create event, the JSON form of its decoded Avro record (trimmed where
# the guide trims it), and the schema fields it uses with their Salesforce types as an org's
# schema gives them.
# https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_subscribe_compound_fields.htm
GUIDE_ADDRESS = {
    "type": "record",
    "name": "Address",
    "fields": [
        nullable(n, "string", "Data:String")
        for n in ("Street", "City", "State", "PostalCode", "Country")
    ]
    + [nullable(n, "double", "Data:Double") for n in ("Latitude", "Longitude")]
    + [nullable("GeocodeAccuracy", "string", "Data:Picklist")],
}
GUIDE_SCHEMA = event_schema(
    nullable("Name", "string", "Data:Text"),
    nullable("Type", "string", "Data:DynamicEnum"),
    nullable("ParentId", "string", "Data:EntityId"),
    nullable("BillingAddress", GUIDE_ADDRESS, "Data:Address"),
    {"name": "ShippingAddress", "type": ["null", "Address"], "doc": "Data:Address"},
    nullable("Phone", "string", "Data:Phone"),
    nullable("OwnerId", "string", "Data:EntityId"),
    nullable("CreatedDate", "long", "CreatedDate:DateTime"),
    nullable("CreatedById", "string", "Data:EntityId"),
    nullable("LastModifiedDate", "long", "Data:DateTime"),
    nullable("LastModifiedById", "string", "Data:EntityId"),
    nullable("CleanStatus", "string", "Data:StaticEnum"),
)
GUIDE_EVENT = {
    "ChangeEventHeader": {
        "entityName": "Account",
        "recordIds": ["0015f00002JUXA8AAP"],
        "changeType": "CREATE",
        "changeOrigin": "com/salesforce/api/soap/60.0;client=SfdcInternalAPI/",
        "transactionKey": "00006bec-ce66-0611-9018-30a98446c9f2",
        "sequenceNumber": 1,
        "commitTimestamp": 1714156685000,
        "commitNumber": 1100670838951,
        "commitUser": "0055f000005mc66AAA",
        "nulledFields": [],
        "diffFields": [],
        "changedFields": [],
    },
    "Name": "Acme",
    "Type": None,
    "ParentId": None,
    "BillingAddress": {
        "Street": "415 Mission Street",
        "City": "San Francisco",
        "State": "CA",
        "PostalCode": "94105",
        "Country": "United States",
        "Latitude": None,
        "Longitude": None,
        "GeocodeAccuracy": None,
    },
    "ShippingAddress": None,
    "Phone": None,
    "OwnerId": "0055f000005mc66AAA",
    "CreatedDate": 1714156685000,
    "CreatedById": "0055f000005mc66AAA",
    "LastModifiedDate": 1714156685000,
    "LastModifiedById": "0055f000005mc66AAA",
    "CleanStatus": "Pending",
}


def test_given_the_guides_printed_create_event_when_decoded_then_each_field_is_the_cometd_one() -> (
    None
):
    payload = cometd_payload(GUIDE_EVENT, SchemaIndex.of(GUIDE_SCHEMA))

    assert {k: v for k, v in payload.items() if k != "ChangeEventHeader"} == {
        "Name": "Acme",
        "BillingAddress": {
            "Street": "415 Mission Street",
            "City": "San Francisco",
            "State": "CA",
            "PostalCode": "94105",
            "Country": "United States",
        },
        "OwnerId": "0055f000005mc66AAA",
        "CreatedDate": "2024-04-26T18:38:05.000Z",
        "CreatedById": "0055f000005mc66AAA",
        "LastModifiedDate": "2024-04-26T18:38:05.000Z",
        "LastModifiedById": "0055f000005mc66AAA",
        "CleanStatus": "Pending",
    }
    assert payload["ChangeEventHeader"]["recordIds"] == ["0015f00002JUXA8AAP"]
