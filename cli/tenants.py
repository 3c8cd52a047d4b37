"""`gather-sync tenants ...`: validate, apply (publish to gather.tenants) and remove configs.

`apply` and `validate --org` check each config against its org's describe first
(schemas/org_check.py). Exit codes: 0 fine, 1 a config is wrong (nothing applied), 2 an org
could not be asked (nothing applied; `apply --no-org-check` publishes without asking).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import structlog

from cli.kafka_io import SyncPublisher
from cli.org_describe import OrgUnavailable, read_org
from connectors.kafka.compacted import read_compacted
from connectors.kafka.failures import classify
from connectors.kafka.settings import KafkaSettings
from connectors.retrying import Patience, patiently
from connectors.salesforce.settings import ListenerSettings
from schemas.contract import Topics
from schemas.errors import ConfigError
from schemas.loader import load_tenant_configs, validate_tenant_config
from schemas.org_check import check_against_org
from schemas.tenant import TenantConfig

FITS, WRONG, UNASKED = (
    0,
    1,
    2,
)  # exit codes: the config fits / is wrong / the org could not be asked


def applied_config(kafka: KafkaSettings, tenant: str) -> TenantConfig | None:
    """The tenant's config as applied to gather.tenants, or None."""
    topic = Topics.of(kafka).gather_tenants
    applied = patiently(
        lambda: read_compacted(kafka.consumer_config("gather-sync-cli"), topic),
        f"read {topic}",
        Patience("cli", "kafka", classify, fields={"tenant": tenant}),
    )
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


def check_org(path: str, config: TenantConfig) -> int:
    """Check one config against its org, printing each problem; FITS, WRONG or UNASKED."""
    with structlog.contextvars.bound_contextvars(tenant=config.tenant):
        try:
            org = read_org(config, os.environ, ListenerSettings().salesforce_ca_file)
        except OrgUnavailable as e:
            print(
                f"{path}: tenant '{config.tenant}': cannot check against its org: {e}",
                file=sys.stderr,
            )
            return UNASKED
    problems = check_against_org(config, org.describes, org.objects)
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        print(
            f"{path}: tenant '{config.tenant}' does not fit its org ({len(problems)} "
            f"problem(s)):\n{lines}",
            file=sys.stderr,
        )
    return WRONG if problems else FITS


def validate(args: argparse.Namespace) -> int:
    worst = FITS
    for path in args.files:
        configs = _load(path)
        worst = max(worst, FITS if configs is not None else WRONG)
        for config in configs or []:
            verdict = check_org(path, config) if args.org else FITS
            worst = max(worst, verdict)
            if verdict == FITS:
                fits = " and fits its org" if args.org else ""
                print(
                    f"{path}: tenant '{config.tenant}' is valid{fits}; objects: "
                    f"{', '.join(config.synced_objects())}"
                )
    return worst


def apply(args: argparse.Namespace) -> int:
    """Validate every file and check every config against its org first; publish only when all
    pass (secrets stay references)."""
    loaded = [(path, _load(path)) for path in args.files]
    if any(configs is None for _, configs in loaded):
        print("nothing applied: fix the errors above first", file=sys.stderr)
        return WRONG
    checked = [(path, c) for path, configs in loaded for c in configs or []]
    if not args.no_org_check and (worst := max(check_org(p, c) for p, c in checked)):
        print(
            "nothing applied: fix the problems above first, or apply with --no-org-check "
            "to publish anyway (the listener then reports them)",
            file=sys.stderr,
        )
        return worst
    return _publish([c for _, c in checked])


def _publish(configs: list[TenantConfig]) -> int:
    kafka = KafkaSettings()
    topic = Topics.of(kafka).gather_tenants
    publisher = SyncPublisher(kafka.producer_config())
    for config in configs:
        publisher.send(topic, config.tenant, config.model_dump_json().encode())
    if publisher.close() or publisher.failed:
        print(f"not every config reached Kafka: {publisher.failed}", file=sys.stderr)
        return WRONG
    for config in configs:
        print(f"applied tenant '{config.tenant}' to {topic}")
    return FITS


def remove(args: argparse.Namespace) -> int:
    kafka = KafkaSettings()
    topic = Topics.of(kafka).gather_tenants
    publisher = SyncPublisher(kafka.producer_config())
    publisher.send(topic, args.tenant, None)
    if publisher.close() or publisher.failed:
        print(f"the removal did not reach Kafka: {publisher.failed}", file=sys.stderr)
        return 1
    print(f"removed tenant '{args.tenant}' (its subscription stops)")
    return 0
