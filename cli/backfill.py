"""`gather-sync backfill --tenant T`: load the records that existed before the subscription."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from cli.kafka_io import SyncPublisher
from cli.progress import progress
from cli.tenants import applied_config
from connectors.kafka.settings import KafkaSettings
from connectors.salesforce import backfill as engine
from connectors.salesforce.auth import authenticator_for, http_session
from connectors.salesforce.errors import SalesforceConnectorError
from connectors.salesforce.orgapi import OrgApi, RetryPolicy
from connectors.salesforce.settings import ListenerSettings
from schemas.contract import Topics
from schemas.loader import load_tenant_configs
from schemas.tenant import TenantConfig


def _config(args: argparse.Namespace, kafka: KafkaSettings) -> TenantConfig | None:
    if args.config:
        found = [c for c in load_tenant_configs(Path(args.config)) if c.tenant == args.tenant]
        return found[0] if found else None
    return applied_config(kafka, args.tenant)


def backfill(args: argparse.Namespace) -> int:
    kafka, settings = KafkaSettings(), ListenerSettings()
    sf_changes = Topics.of(kafka).sf_changes
    config = _config(args, kafka)
    if config is None:
        print(
            f"tenant '{args.tenant}' is not applied; run `gather-sync tenants apply FILE` "
            "or pass --config FILE",
            file=sys.stderr,
        )
        return 1
    session = http_session(settings.salesforce_ca_file)
    try:
        api = OrgApi(
            authenticator_for(config.salesforce, os.environ, session),
            session,
            config.salesforce.api_version,
            sleep=time.sleep,
            # an org that is down or slow for minutes is waited for, page by page, so the
            # backfill goes on where it was instead of ending (and starting over when re-run)
            retry=RetryPolicy(attempts=None),
            tenant=config.tenant,
        )
        objects = args.objects.split(",") if args.objects else config.synced_objects()
        plans = engine.plan(api, objects, args.bulk_threshold)
        publisher = SyncPublisher(kafka.producer_config(), tenant=config.tenant)
        count = engine.backfill(
            api,
            config.tenant,
            plans,
            lambda key, value: publisher.send(sf_changes, key, value),
            progress,
        )
    except SalesforceConnectorError as e:
        print(f"tenant '{config.tenant}': backfill failed: {e}", file=sys.stderr)
        return 1
    undelivered = publisher.close()
    print(
        f"tenant '{config.tenant}': {count} records published to {sf_changes} "
        f"({publisher.acknowledged} acknowledged, {undelivered + len(publisher.failed)} failed, "
        f"{publisher.resent} sent again after a broker outage)"
    )
    return 0 if not undelivered and not publisher.failed else 1
