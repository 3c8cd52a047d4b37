"""Re-evaluation requests: when a tenant's config or its objects' types change, each partition
of the worker's state is re-evaluated once, in that partition's own context.

A worker that sees a tenant's wanted digest (its config and the describe types of its objects)
change sends one request per partition of `worker.control`, a topic co-partitioned with
`sf.changes`. The agent handling partition p re-evaluates only the tenant's records whose key
hashes to p, and records the digest as applied for (tenant, p) in the `applied` table, which
lives in p's changelog. So a partition is re-evaluated once per digest whichever worker holds it,
a rebalance hands the applied digests over with the partition, standby copies of other
partitions are never evaluated, and a restarted worker that finds its digests applied sends
nothing again. Requests are idempotent: every worker may send them, duplicates are ignored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping

from aiokafka.partitioner import murmur2
from pydantic import BaseModel, ConfigDict

from schemas.contract import owned_by, schema_key
from schemas.describe import ObjectSchema


class Reevaluate(BaseModel):
    """Re-evaluate the tenant's records of one partition, if its digest is not applied there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str
    digest: str

    def encode(self) -> bytes:
        return self.model_dump_json().encode()


def partition_of(key: str, partitions: int) -> int:
    """The partition the Java client's (and librdkafka's murmur2_random) partitioner gives a
    key: where every change of that record, and its table entries, live."""
    hashed: int = murmur2(key.encode())
    return (hashed & 0x7FFFFFFF) % partitions


def applied_key(tenant: str, partition: int) -> str:
    return f"{tenant}@{partition}"


def wanted_digest(
    raw_config: bytes,
    filtered: Mapping[str, list[str]],
    schema: Callable[[str], ObjectSchema | None],
) -> str:
    """What a tenant's records were evaluated with: its config and the describe types of the
    fields its filters compare (a type not known yet counts as such, so its arrival changes the
    digest; a field added to the org that no filter names changes nothing)."""
    types = {}
    for obj, fields in sorted(filtered.items()):
        found = schema(obj)
        types[obj] = {f: found.fields.get(f) if found else None for f in fields}
    parts = [hashlib.sha256(raw_config).hexdigest(), types]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def own_keys(keys: Iterable[str], tenant: str, partition: int, partitions: int) -> list[str]:
    """The tenant's record keys that live in this partition."""
    return [k for k in keys if owned_by(k, tenant) and partition_of(k, partitions) == partition]


class SchemaView:
    """The `sf.schemas` global table as `Evaluator.types`, parsed once per distinct value."""

    def __init__(self, table: Mapping[str, bytes | None]) -> None:
        self._table = table
        self._parsed: dict[bytes, ObjectSchema] = {}

    def schema(self, tenant: str, obj: str) -> ObjectSchema | None:
        raw = self._table.get(schema_key(tenant, obj))
        if not raw:
            return None
        if raw not in self._parsed:
            self._parsed[raw] = ObjectSchema.model_validate_json(raw)
        return self._parsed[raw]

    def __call__(self, tenant: str, obj: str) -> Mapping[str, str]:
        found = self.schema(tenant, obj)
        return found.fields if found else {}
