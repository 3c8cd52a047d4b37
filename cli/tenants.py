"""`gather-sync tenants ...`: validate, apply (publish to gather.tenants) and remove configs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cli.kafka_io import SyncPublisher
from connectors.kafka.compacted import read_compacted
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import GATHER_TENANTS
from schemas.errors import ConfigError
from schemas.loader import load_tenant_configs, validate_tenant_config
from schemas.tenant import TenantConfig


def applied_config(kafka: KafkaSettings, tenant: str) -> TenantConfig | None:
    """The tenant's config as applied to gather.tenants, or None."""
    applied = read_compacted(kafka.consumer_config("gather-sync-cli"), GATHER_TENANTS)
    raw = applied.get(tenant)
    return validate_tenant_config(json.loads(raw)) if raw else None


def _load(path: str) -> list[TenantConfig] | None:
    try:
        return load_tenant_configs(Path(path))
    except ConfigError as e:
        print(e, file=sys.stderr)
    except OSError as e:
        print(f"{path}: cannot read: {e.strerror}", file=sys.stderr)
    return None


def validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        configs = _load(path)
        failed += configs is None
        for config in configs or []:
            print(
                f"{path}: tenant '{config.tenant}' is valid; objects: "
                f"{', '.join(config.synced_objects())}"
            )
    return 1 if failed else 0


def apply(args: argparse.Namespace) -> int:
    """Validate every file first; publish only when all are valid (secrets stay references)."""
    loaded = [_load(path) for path in args.files]
    if any(configs is None for configs in loaded):
        print("nothing applied: fix the errors above first", file=sys.stderr)
        return 1
    publisher = SyncPublisher(KafkaSettings().producer_config())
    configs = [c for batch in loaded for c in batch or []]
    for config in configs:
        publisher.send(GATHER_TENANTS, config.tenant, config.model_dump_json().encode())
    if publisher.close() or publisher.failed:
        print(f"not every config reached Kafka: {publisher.failed}", file=sys.stderr)
        return 1
    for config in configs:
        print(f"applied tenant '{config.tenant}' to {GATHER_TENANTS}")
    return 0


def remove(args: argparse.Namespace) -> int:
    publisher = SyncPublisher(KafkaSettings().producer_config())
    publisher.send(GATHER_TENANTS, args.tenant, None)
    if publisher.close() or publisher.failed:
        print(f"the removal did not reach Kafka: {publisher.failed}", file=sys.stderr)
        return 1
    print(f"removed tenant '{args.tenant}' (its subscription stops)")
    return 0
