"""Re-evaluating a tenant from the worker's state, outside the worker.

The worker's tables are kept in compacted changelog topics (`<app id>-records-changelog`,
`<app id>-deals-changelog`), which hold every record's merged state. Reading them and applying
the tenant's rules gives what the store should hold, without reading Salesforce again. The
upserts may race the running worker's own: the sink keeps the newer version of every trait, so
the order does not matter. Filters compare by the types the listener published to
`sf.schemas`, as in the worker.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from schemas.contract import owned_by
from schemas.gather import GatherUpsert
from schemas.tenant import TenantConfig
from streams import state_codec
from streams.evaluator import Evaluator, TypesOf
from streams.merge import RecordState


def table_key(raw: str) -> str:
    """Faust writes a table's str keys to its changelog as JSON strings (`"t:Account:001..."`)."""
    return str(json.loads(raw)) if raw.startswith('"') else raw


def decode_records(raw: Mapping[str, bytes]) -> dict[str, RecordState]:
    return {table_key(k): state_codec.decode(v) for k, v in raw.items()}


def decode_deals(raw: Mapping[str, bytes]) -> dict[str, dict[str, bool]]:
    return {table_key(k): dict(json.loads(v)) for k, v in raw.items()}


def reevaluate(
    config: TenantConfig,
    records: dict[str, RecordState],
    deals: dict[str, dict[str, bool]],
    types: TypesOf,
) -> list[GatherUpsert]:
    """Every upsert the tenant's rules give for its records' state (other tenants' ignored)."""
    own = {k: v for k, v in records.items() if owned_by(k, config.tenant)}
    return Evaluator(own, deals, {config.tenant: config}, types).on_config(config)
