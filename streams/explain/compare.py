"""The upsert the rules give now beside the store's rows: the differences, and their likely
cause (a rule, a stage still behind, a dead letter, an id field that moved)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.gather import GatherUpsert, Operation, Target
from streams.explain.model import DeadLetterView, Difference, StoreRow, Verdict
from streams.rules.entities import Skip

# why a rule holds a record back, in the product guide's words
SKIPS = {
    "filtered": "the tenant's filter holds it back (see the conditions above)",
    "not_closed_won": "only accounts with a Closed Won opportunity sync; none of its "
    "opportunities is won yet, and it syncs as soon as one is",
    "no_id": "its id field is empty: create-new mode needs a value to name the Gather entity",
    "types_unknown": "the filter's field types are not known yet; the record waits for the "
    "listener to publish the object's describe to sf.schemas",
    "unseen": "no change of the record has been seen yet",
}


@dataclass(frozen=True)
class Findings:
    """What `verdict` reads besides the decision."""

    rows: list[StoreRow]
    dead_letters: list[DeadLetterView]
    lag: Mapping[str, int]  # stage -> unread messages of its group


def own_row(upsert: GatherUpsert, rows: list[StoreRow]) -> StoreRow | None:
    """The row the upsert writes: its Gather id in create mode, else the matched entity."""
    if upsert.target is Target.CREATE:
        return next((r for r in rows if r.id == upsert.gather_id), None)
    return next((r for r in rows if _matched(r, upsert)), None)


def _matched(row: StoreRow, upsert: GatherUpsert) -> bool:
    trait = upsert.match_trait
    return row.sf_id == upsert.sf_id or (
        trait is not None and row.traits.get(trait) == upsert.sf_id
    )


def differences(upsert: GatherUpsert, row: StoreRow | None) -> list[Difference]:
    """Traits whose stored value differs from the upsert's (all of them when there is no row)."""
    found = []
    for trait, expected in sorted(upsert.traits.items()):
        stored = row.traits.get(trait) if row else None
        if row is not None and trait in row.traits and _same(stored, expected):
            continue
        found.append(
            Difference(
                trait=trait,
                expected=expected,
                stored=stored,
                expected_version=upsert.trait_versions[trait].encode(),
                stored_version=row.trait_versions.get(trait) if row else None,
            )
        )
    return found


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def verdict(decision: GatherUpsert | Skip, found: Findings) -> tuple[Verdict, list[str]]:
    """The record's standing and its likely causes, most likely first."""
    notes = _id_moves(found.rows)
    if isinstance(decision, Skip):
        return Verdict.SKIPPED, [SKIPS.get(decision.reason, decision.reason), *notes, *_kept(found)]
    row = own_row(decision, found.rows)
    if decision.op is Operation.DELETE:
        if row is None or row.deleted:
            return Verdict.SYNCED, [
                "deleted in Salesforce; the store has it marked deleted",
                *notes,
            ]
        return _behind(found, "deleted in Salesforce, but its row is still live", notes)
    changed = differences(decision, row)
    if row is not None and not changed and not row.deleted:
        return Verdict.SYNCED, notes or ["the store holds what the rules give"]
    if row is None and decision.target is Target.MATCH:
        return _unmatched(decision, found, notes)
    what = "no row in the store yet" if row is None else _what_differs(changed, row)
    return _behind(found, what, notes)


def _what_differs(changed: list[Difference], row: StoreRow) -> str:
    if not changed:
        return f"its row {row.id!r} is marked deleted ({row.deleted_reason})"
    return f"{len(changed)} trait(s) differ: " + ", ".join(d.trait for d in changed)


def _behind(found: Findings, what: str, notes: list[str]) -> tuple[Verdict, list[str]]:
    """The store is not what the rules give: a dead letter, a stage behind, or nothing seen."""
    letters = [f"an upsert of it is in {d.topic}: {d.stage}: {d.error}" for d in found.dead_letters]
    if letters:
        return Verdict.DEAD_LETTERED, [what, *letters, *notes]
    pending = [f"the {s} has {n} unread message(s)" for s, n in sorted(found.lag.items()) if n]
    if pending:
        return Verdict.WAITING, [what, *pending, *notes]
    stuck = "nothing is pending in any stage: reprocess the tenant (gather-sync reprocess)"
    return Verdict.DIFFERENT, [what, stuck, *notes]


def _unmatched(
    upsert: GatherUpsert, found: Findings, notes: list[str]
) -> tuple[Verdict, list[str]]:
    """Update-existing mode writes only to an entity that exists (the sink counts the others as
    skipped, reason no_match_in_gather)."""
    said = (
        f"no Gather entity has trait {upsert.match_trait!r} = {upsert.sf_id!r}; update-existing "
        "mode creates none"
    )
    if found.lag.get("sink"):
        return Verdict.WAITING, [
            said,
            f"the sink has {found.lag['sink']} unread message(s)",
            *notes,
        ]
    return Verdict.SKIPPED, [said, *notes]


def _id_moves(rows: list[StoreRow]) -> list[str]:
    return [
        f"its id field changed: the row under the old id {r.id!r} is marked deleted (id_changed)"
        for r in rows
        if r.deleted and r.deleted_reason == "id_changed"
    ]


def _kept(found: Findings) -> list[str]:
    """A record that stops matching keeps the row it had (the guide: skipped, not deleted)."""
    live = [r.id for r in found.rows if not r.deleted]
    return [f"its row {live[0]!r} stays as last synced"] if live else []
