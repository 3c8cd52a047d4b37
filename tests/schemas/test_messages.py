"""The stage-to-stage messages: keys of DESIGN.md's contract table and refused shapes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.changes import ChangeType, SalesforceChange
from schemas.contract import Topics
from schemas.gather import EntityKind, Target
from tests.builders import a_change, an_upsert


def test_given_a_change_then_its_key_is_tenant_object_record() -> None:
    assert a_change().key == "acme:Account:001000000000001AAA"


def test_given_a_change_when_serialised_and_read_back_then_it_is_equal() -> None:
    change = a_change()

    assert SalesforceChange.model_validate_json(change.model_dump_json()) == change


def test_given_a_delete_with_field_values_then_it_is_refused() -> None:
    with pytest.raises(ValidationError, match="a DELETE change carries no field values"):
        a_change(change_type=ChangeType.DELETE)


def test_given_a_record_id_of_wrong_length_then_it_is_refused() -> None:
    with pytest.raises(ValidationError, match="15 or 18 letters and digits"):
        a_change(record_id="001ABC")


def test_given_an_upsert_then_its_key_and_topic_follow_its_kind() -> None:
    upsert = an_upsert(kind=EntityKind.USER, sf_id="003000000000001AAA")

    assert upsert.key == "acme:user:003000000000001AAA"
    assert Topics().gather_topic(upsert.kind) == "gather.users"


def test_given_an_update_existing_upsert_without_match_trait_then_it_is_refused() -> None:
    with pytest.raises(ValidationError, match="target 'match' needs match_trait"):
        an_upsert(target=Target.MATCH, gather_id=None)


def test_given_a_trait_without_a_version_then_it_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"traits without a version: \['phone'\]"):
        an_upsert(traits={"phone": "1"}, trait_versions={})


def test_given_a_custom_record_without_model_then_it_is_refused() -> None:
    with pytest.raises(ValidationError, match="model is set exactly when kind is 'record'"):
        an_upsert(kind=EntityKind.RECORD)
