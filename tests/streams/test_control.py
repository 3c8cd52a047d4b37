"""Re-evaluation requests: what a tenant's digest depends on, and which records a partition owns."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.describe import ObjectSchema
from streams.control import own_keys, partition_of, wanted_digest

CONFIG = b'{"tenant": "acme"}'
FILTERED = {"Account": ["NumberOfEmployees"]}


def schema(**fields: str) -> ObjectSchema:
    return ObjectSchema(tenant="acme", object="Account", fields=fields, read_at=datetime.now(UTC))


def digest(config: bytes = CONFIG, found: ObjectSchema | None = None) -> str:
    return wanted_digest(config, FILTERED, lambda _obj: found)


def test_given_a_filtered_field_then_its_type_arriving_or_changing_changes_the_digest() -> None:
    unknown, typed = digest(), digest(found=schema(NumberOfEmployees="int"))

    assert len({unknown, typed, digest(found=schema(NumberOfEmployees="double"))}) == 3
    assert digest(b'{"tenant": "acme", "accounts": {}}', schema(NumberOfEmployees="int")) != typed


def test_given_a_field_no_filter_names_then_adding_it_to_the_org_changes_nothing() -> None:
    before = digest(found=schema(NumberOfEmployees="int"))

    assert digest(found=schema(NumberOfEmployees="int", Tier__c="picklist")) == before
    assert wanted_digest(CONFIG, {}, lambda _obj: None) == wanted_digest(
        CONFIG, {}, lambda _obj: schema(Name="string")
    )


def test_given_keys_of_two_tenants_then_a_partition_owns_only_its_tenants_hashed_keys() -> None:
    keys = [f"{t}:Account:001{n:015d}" for t in ("acme", "acme2") for n in range(50)]

    owned = [own_keys(keys, "acme", p, 3) for p in range(3)]

    assert sorted(k for part in owned for k in part) == sorted(k for k in keys if k[:5] == "acme:")
    assert all(partition_of(k, 3) == p for p, part in enumerate(owned) for k in part)
