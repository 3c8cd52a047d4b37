"""Row shaping for the sink (pure): an existing row + an upsert -> the row to write.

Every trait is written only when its version is newer than the stored one (an equal version by
`schemas.tiebreak`, the worker's rule too), and the deleted mark (with its reason) moves only
with a newer liveness version, so re-applying any older upsert changes nothing and any order of
the same upserts gives the same row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.gather import DeleteReason, GatherUpsert, Operation
from schemas.tiebreak import wins

ACCOUNT_LINK = "$account"  # trait_versions key of a user's AccountId version

# Deletes of one version with different reasons: the first reason listed wins, in any order. A
# record deleted in Salesforce is gone everywhere, which says more than its id field moving.
_REASON_ORDER = (DeleteReason.DELETED, DeleteReason.ID_CHANGED)


@dataclass
class Row:
    """The mutable parts of an accounts/users/records row."""

    sf_id: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    trait_versions: dict[str, str] = field(default_factory=dict)  # trait -> Version.encode()
    deleted: bool = False
    deleted_version: str | None = None
    sf_account_id: str | None = None
    deleted_reason: str | None = None  # a DeleteReason while deleted; None while live

    def columns(self) -> dict[str, Any]:
        return {
            "sf_id": self.sf_id,
            "traits": self.traits,
            "trait_versions": self.trait_versions,
            "deleted": self.deleted,
            "deleted_version": self.deleted_version,
            "deleted_reason": self.deleted_reason,
        }


def merge(row: Row | None, upsert: GatherUpsert) -> Row:
    merged = (
        Row(
            row.sf_id,
            dict(row.traits),
            dict(row.trait_versions),
            row.deleted,
            row.deleted_version,
            row.sf_account_id,
            row.deleted_reason,
        )
        if row
        else Row()
    )
    merged.sf_id = upsert.sf_id
    for trait, value in upsert.traits.items():
        version = upsert.trait_versions[trait].encode()
        if wins(value, version, merged.traits.get(trait), merged.trait_versions.get(trait)):
            merged.traits[trait], merged.trait_versions[trait] = value, version
    _liveness(merged, upsert)
    _account_link(merged, upsert)
    return merged


def _liveness(row: Row, upsert: GatherUpsert) -> None:
    version = upsert.version.encode()
    if row.deleted_version is None or version > row.deleted_version:
        row.deleted, row.deleted_version = upsert.op is Operation.DELETE, version
        row.deleted_reason = _reason(upsert) if row.deleted else None  # a revival clears it
    elif version == row.deleted_version and upsert.op is Operation.DELETE:
        # a delete and an upsert of one version: the delete wins, always; two deletes of one
        # version: the reason first in _REASON_ORDER wins
        known = row.deleted_reason if row.deleted else None
        row.deleted, row.deleted_reason = True, _first(known, _reason(upsert))


def _reason(upsert: GatherUpsert) -> str:
    """A delete's reason; deletes written before reasons existed were Salesforce deletes."""
    return (upsert.delete_reason or DeleteReason.DELETED).value


def _first(known: str | None, reason: str) -> str:
    return reason if known is None else min(known, reason, key=_rank)


def _rank(reason: str) -> tuple[int, str]:
    """Known reasons by _REASON_ORDER, then any other text by itself: one order, always."""
    order = [r.value for r in _REASON_ORDER]
    return (order.index(reason) if reason in order else len(order), reason)


def _account_link(row: Row, upsert: GatherUpsert) -> None:
    if upsert.account_version is None:
        return
    version = upsert.account_version.encode()
    stored = row.trait_versions.get(ACCOUNT_LINK)
    if stored is None or version > stored:
        row.sf_account_id, row.trait_versions[ACCOUNT_LINK] = upsert.account_sf_id, version
