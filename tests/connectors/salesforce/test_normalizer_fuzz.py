"""The normaliser on any input: the CDC events the guides print (tests/sfsim/golden), mutated at
any depth (a value swapped for None, a number, a bool, a list, an object, a huge string, or a
key dropped), come back as valid changes, a Gap, an Overflow, or a `NormalizeError`; nothing
else escapes, so one bad event never stops a tenant's stream."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from connectors.salesforce.errors import NormalizeError
from connectors.salesforce.normalizer import Gap, Overflow, normalize
from schemas.changes import SalesforceChange

GOLDEN = Path(__file__).parents[2] / "sfsim" / "golden"
TENANT = "acme"
Path_ = tuple[str | int, ...]


def cometd_message(printed: dict[str, Any]) -> dict[str, Any]:
    """A golden event as the CometD client yields it, whichever form the guide printed."""
    if "channel" in printed:
        return printed
    if "payload" in printed:
        return {"channel": "/data/ChangeEvents", "data": printed}
    # Pub/Sub form: the decoded payload only
    data = {"schema": "s", "payload": printed, "event": {"replayId": 7}}
    return {"channel": "/data/ChangeEvents", "data": data}


PRINTED_BY_FILE = {
    p.name: cometd_message(json.loads(p.read_text())["event"])
    for p in sorted(GOLDEN.glob("*.json"))
}
PRINTED = list(PRINTED_BY_FILE.values())
# What a CometD client would never receive: a placeholder id, and Pub/Sub updates whose
# changedFields are bitmaps (CometD sends names). The normaliser refuses them, saying why.
REFUSED = {
    "account_create_cometd_streaming_guide.json": "not a record id",
    "account_update_compound_billingaddress.json": "'0x400000' is not valid",
    "employee_update.json": "'0x0320' is not valid",
    "lead_convert_lead_update.json": "'0x08F81000' is not valid",
    "merged_update.json": "'0x400800' is not valid",
}

# Values a header or body plausibly holds, so mutations reach past the first check.
PLAUSIBLE = st.sampled_from(
    [
        "0015f00002J9YYEAA3",
        "000000000000000AAA",
        "Account",
        "Contact",
        "Invoice__c",
        "CREATE",
        "UPDATE",
        "DELETE",
        "GAP_UPDATE",
        "GAP_OVERFLOW",
        "BillingAddress.City",
        "Name.FirstName",
        "LastModifiedDate",
        "",
        "0x400800",
        1_700_000_000_000,
        -1,
        0,
        10**15,
        10**40,
        1.5,
        float("nan"),
        float("inf"),
        True,
    ]
)
HUGE_TEXT = st.builds(lambda n, c: c * n, st.integers(1_000, 200_000), st.characters())
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | HUGE_TEXT
    | PLAUSIBLE
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(value: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every place in a JSON tree: the keys and indexes that lead to it."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


def mutate(message: Any, where: Path_, drop: bool, replacement: Any) -> Any:
    """The message with the value at `where` replaced, or its key dropped (an item removed)."""
    if not where:
        return replacement
    parent = message
    for step in where[:-1]:
        parent = parent[step]
    last = where[-1]
    if drop:
        del parent[last]
    else:
        parent[last] = replacement
    return message


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    message: Any = copy.deepcopy(draw(st.sampled_from(PRINTED)))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(message)))
        drop = bool(where) and draw(st.booleans())
        message = mutate(message, where, drop, None if drop else draw(JUNK))
    return message


def assert_normalizes_or_refuses(message: Any) -> None:
    try:
        result = normalize(TENANT, message)
    except NormalizeError as e:
        assert str(e)  # says why
        event("refused")
        return
    event(f"normalized: {type(result).__name__}")
    if isinstance(result, Gap | Overflow):
        assert result.tenant == TENANT and isinstance(result.replay_id, int)
        return
    assert result and all(isinstance(c, SalesforceChange) for c in result)
    for change in result:  # each one is a valid sf.changes message, as published
        assert SalesforceChange.model_validate_json(change.model_dump_json()).key == change.key


def test_given_each_printed_event_unchanged_then_it_normalizes_or_is_refused_for_its_reason() -> (
    None
):
    refused = {}
    for name, message in PRINTED_BY_FILE.items():
        try:
            assert normalize(TENANT, message)
        except NormalizeError as e:
            refused[name] = str(e)

    assert refused.keys() == REFUSED.keys()
    assert all(reason in refused[name] for name, reason in REFUSED.items())


FUZZ = settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutated_events())
def test_given_a_printed_event_mutated_anywhere_then_only_normalize_error_escapes(
    message: Any,
) -> None:
    assert_normalizes_or_refuses(message)


@settings(max_examples=1_000, deadline=None)
@given(JUNK)
def test_given_any_json_value_as_the_message_then_only_normalize_error_escapes(
    message: Any,
) -> None:
    assert_normalizes_or_refuses(message)
