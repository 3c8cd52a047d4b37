"""Test data for `streams.explain`: a record's state, a store row, findings."""

from __future__ import annotations

from typing import Any

from schemas.changes import ChangeType, SalesforceChange
from schemas.tenant import TenantConfig
from schemas.versions import Version
from streams.explain.compare import Findings
from streams.explain.model import DeadLetterView, StoreRow
from streams.merge import RecordState, merge_all
from tests.builders import a_tenant_config

RECORD_ID = "001Dn0000000001IAA"


def a_state(
    obj: str = "Account", ts: int = 1_000, deleted_at: int | None = None, **fields: Any
) -> RecordState:
    """A record created at `ts` with `fields` (and deleted at `deleted_at`, if given)."""
    kinds = [(ChangeType.CREATE, ts, fields)]
    if deleted_at is not None:
        kinds.append((ChangeType.DELETE, deleted_at, {}))
    changes = [
        SalesforceChange(
            tenant="acme",
            object=obj,
            record_id=RECORD_ID,
            change_type=kind,
            version=Version(commit_ts=at),
            fields=values,
        )
        for kind, at, values in kinds
    ]
    return merge_all(changes)[f"acme:{obj}:{RECORD_ID}"]


def a_config(**sections: Any) -> TenantConfig:
    return TenantConfig.model_validate(a_tenant_config(tenant="acme", **sections))


def a_row(id: str = RECORD_ID, ts: int = 1_000, deleted: bool = False, **traits: Any) -> StoreRow:
    version = Version(commit_ts=ts).encode()
    return StoreRow(
        table="accounts",
        id=id,
        sf_id=RECORD_ID,
        deleted=deleted,
        deleted_reason="id_changed" if deleted else None,
        traits=traits,
        trait_versions=dict.fromkeys(traits, version),
    )


def findings(
    rows: list[StoreRow] | None = None, letters: int = 0, worker: int = 0, sink: int = 0
) -> Findings:
    dead = [DeadLetterView(topic="gather.accounts.dlq", stage="sink.write", error="refused")]
    return Findings(rows or [], dead * letters, {"worker": worker, "sink": sink})
