"""`gather-sync`: the command line of every gather-sync process and operator task."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cli import (
    backfill,
    dashboard,
    explain,
    lag,
    listen,
    replay,
    reprocess,
    run,
    sink,
    tenants,
    worker,
)
from connectors.gather import migrate
from connectors.gather.engine import make_engine
from connectors.gather.settings import StoreSettings
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import provision_contract_topics
from connectors.salesforce.backfill import BULK_THRESHOLD
from connectors.telemetry.logs import configure_logging
from schemas.tenant import TenantConfig

Handler = Callable[[argparse.Namespace], int]


def _schema_export(args: argparse.Namespace) -> int:
    text = json.dumps(TenantConfig.model_json_schema(), indent=2, sort_keys=True) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _topics_provision(_args: argparse.Namespace) -> int:
    report = provision_contract_topics(KafkaSettings())
    for field in ("created", "grown", "reconfigured", "unchanged"):
        names = getattr(report, field)
        print(f"{field:>12}: {', '.join(names) if names else '-'}")
    return 0


def _db_migrate(_args: argparse.Namespace) -> int:
    settings = StoreSettings()
    engine = make_engine(settings.database_url, settings.pool_size)
    migrate.upgrade(engine)
    url = engine.url.render_as_string(hide_password=True)
    print(f"store at {url} is at revision {migrate.current_revision(engine)}")
    return 0


def _sub(
    parent: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help_: str,
    handler: Handler | None = None,
) -> argparse.ArgumentParser:
    parser = parent.add_parser(name, help=help_)
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser


def _tenant_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    actions = _sub(sub, "tenants", "tenant configs").add_subparsers(dest="action", required=True)
    check = _sub(actions, "validate", "check tenant config files", tenants.validate)
    check.add_argument("files", nargs="+")
    check.add_argument(
        "--org", action="store_true", help="also check each config against its org's describe"
    )
    apply = _sub(
        actions, "apply", "check against the org and publish to gather.tenants", tenants.apply
    )
    apply.add_argument("files", nargs="+")
    apply.add_argument(
        "--no-org-check",
        action="store_true",
        help="publish without asking the org (the listener reports what does not fit)",
    )
    _sub(actions, "remove", "stop syncing a tenant", tenants.remove).add_argument("tenant")


def _operations(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schema = _sub(sub, "schema", "the tenant config's JSON Schema").add_subparsers(
        dest="action", required=True
    )
    _sub(schema, "export", "print or write the JSON Schema", _schema_export).add_argument(
        "--out", help="write to this file instead of stdout"
    )
    topics = _sub(sub, "topics", "Kafka topics of the contract").add_subparsers(
        dest="action", required=True
    )
    _sub(topics, "provision", "create or update them", _topics_provision)
    db = _sub(sub, "db", "the Gather store (GATHER_DATABASE_URL)").add_subparsers(
        dest="action", required=True
    )
    _sub(db, "migrate", "bring the schema to this version", _db_migrate)


def _pipeline(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _sub(sub, "listen", "run a listener replica (LISTENER_* and KAFKA_* settings)", listen.listen)
    faust_worker = _sub(
        sub, "worker", "run a Faust worker replica (WORKER_* and KAFKA_* settings)", worker.worker
    )
    faust_worker.add_argument(
        "--loglevel", default="warn", help="Faust's log level (warn, info, debug)"
    )
    demo = _sub(sub, "run", "the whole pipeline on embedded defaults with a live summary", run.run)
    demo.add_argument(
        "--namespace",
        default=run.NAMESPACE,
        help="the topic prefix and consumer groups' stem, so nothing else on the broker reaches "
        "the demo (KAFKA_TOPIC_PREFIX and the *_GROUP_ID / WORKER_APP_ID settings win)",
    )
    _sub(
        sub,
        "sink",
        "write the Gather topics into the store (SINK_*, GATHER_DATABASE_URL)",
        sink.sink,
    )
    fill = _sub(
        sub, "backfill", "load a tenant's existing records into sf.changes", backfill.backfill
    )
    redo = _sub(
        sub,
        "reprocess",
        "re-evaluate a tenant's records from the worker's state (WORKER_APP_ID)",
        reprocess.reprocess,
    )
    redo.add_argument("--tenant", required=True)
    fill.add_argument("--tenant", required=True)
    fill.add_argument("--objects", help="comma-separated; default: the tenant's synced objects")
    fill.add_argument("--config", help="read the tenant from this file, not gather.tenants")
    fill.add_argument(
        "--bulk-threshold",
        type=int,
        default=BULK_THRESHOLD,
        help="objects with more rows use Bulk API 2.0",
    )


def _kafka_ops(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay.add_arguments(
        _sub(sub, "replay", "move a consumer group back on a topic to re-read it", replay.replay)
    )
    lag.add_arguments(
        _sub(sub, "lag", "consumer lag, status per partition and freshness per tenant", lag.lag)
    )


def _monitoring(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explain.add_arguments(
        _sub(sub, "explain", "why one record is, or is not, in Gather", explain.explain)
    )
    dashboard.add_arguments(
        _sub(sub, "dashboard", "web page and /metrics of lag and freshness", dashboard.dashboard)
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gather-sync", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    _tenant_commands(sub)
    _operations(sub)
    _pipeline(sub)
    _kafka_ops(sub)
    _monitoring(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
