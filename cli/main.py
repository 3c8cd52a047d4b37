"""`gather-sync`: the command line of every gather-sync process and operator task."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cli.logs import configure_logging
from connectors.gather import migrate
from connectors.gather.engine import make_engine
from connectors.gather.settings import StoreSettings
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import provision_contract_topics
from schemas.errors import ConfigError
from schemas.loader import load_tenant_configs
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


def _tenants_validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            configs = load_tenant_configs(Path(path))
        except ConfigError as e:
            print(e, file=sys.stderr)
            failed += 1
            continue
        except OSError as e:
            print(f"{path}: cannot read: {e.strerror}", file=sys.stderr)
            failed += 1
            continue
        for config in configs:
            print(
                f"{path}: tenant '{config.tenant}' is valid; objects: "
                f"{', '.join(config.synced_objects())}"
            )
    return 1 if failed else 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gather-sync", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)

    schema = sub.add_parser("schema", help="the tenant config's JSON Schema")
    schema_sub = schema.add_subparsers(dest="action", required=True)
    export = schema_sub.add_parser("export", help="print or write the JSON Schema")
    export.add_argument("--out", help="write to this file instead of stdout")
    export.set_defaults(handler=_schema_export)

    tenants = sub.add_parser("tenants", help="tenant configs")
    tenants_sub = tenants.add_subparsers(dest="action", required=True)
    validate = tenants_sub.add_parser("validate", help="check tenant config files")
    validate.add_argument("files", nargs="+")
    validate.set_defaults(handler=_tenants_validate)

    topics = sub.add_parser("topics", help="Kafka topics of the contract (KAFKA_* settings)")
    topics_sub = topics.add_subparsers(dest="action", required=True)
    topics_sub.add_parser("provision", help="create or update them").set_defaults(
        handler=_topics_provision
    )

    db = sub.add_parser("db", help="the Gather store (GATHER_DATABASE_URL)")
    db_sub = db.add_subparsers(dest="action", required=True)
    db_sub.add_parser("migrate", help="bring the schema to this version").set_defaults(
        handler=_db_migrate
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
