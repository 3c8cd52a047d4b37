"""Test data for `streams.explain`: a record's state, a store row, findings."""

from __future__ import annotations

from typing import Any

from schemas.changes import ChangeType
from schemas.tenant import TenantConfig
from schemas.versions import Version
from streams.explain.compare import Findings
from streams.explain.model import DeadLetterView, StoreRow
from streams.merge import RecordState
from tests.builders import a_tenant_config, state_of

RECORD_ID = "001Dn0000000001IAA"


def a_state(
    obj: str = "Account", ts: int = 1_000, deleted_at: int | None = None, **fields: Any
) -> RecordState:
    """A record created at `ts` with `fields` (and deleted at `deleted_at`, if given)."""
    deleted: list[tuple[ChangeType, int, dict[str, Any]]] = []
    if deleted_at is not None:
        deleted.append((ChangeType.DELETE, deleted_at, {}))
    return state_of((ChangeType.CREATE, ts, fields), *deleted, obj=obj, record_id=RECORD_ID)


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
