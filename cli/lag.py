"""`gather-sync lag`: consumer lag per group, topic and partition, with Burrow's status, and how
fresh each tenant's data in the store is. `--watch` keeps the observation windows across
refreshes, so the status has a history to judge (see connectors/kafka/lag.py; the broker is
read by connectors/kafka/lag_collector.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from connectors.gather.engine import make_engine
from connectors.gather.freshness import read_freshness
from connectors.gather.settings import StoreSettings
from connectors.kafka.errors import FreshnessUnavailableError, KafkaLayerError
from connectors.kafka.lag import (
    DEFAULT_WINDOW,
    FreshnessReader,
    LagMonitor,
    LagReport,
    PartitionLag,
)
from connectors.kafka.lag_collector import LagCollector, LagFilter, lag_report
from connectors.kafka.settings import KafkaSettings

Clock = Callable[[], float]
Sleep = Callable[[float], None]

LAG_HEADERS = ("group", "topic", "partition", "committed", "end", "lag", "lag s", "status")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", action="append", help="only this group (repeatable)")
    parser.add_argument("--topic", action="append", help="only this topic (repeatable)")
    parser.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between --watch refreshes"
    )
    parser.add_argument("--json", action="store_true", help="one JSON document per refresh")
    parser.add_argument(
        "--window",
        type=int,
        default=DEFAULT_WINDOW,
        help="commits per partition in the status window (Burrow's intervals)",
    )


def lag(args: argparse.Namespace) -> int:
    return run_lag(args, KafkaSettings(), time.time, time.sleep, store_freshness(StoreSettings()))


def run_lag(
    args: argparse.Namespace,
    settings: KafkaSettings,
    clock: Clock,
    sleep: Sleep,
    freshness: FreshnessReader | None,
) -> int:
    collector = LagCollector(settings)
    monitor = LagMonitor(window=args.window)
    only = LagFilter(tuple(args.group or ()), tuple(args.topic or ()))
    try:
        while True:
            report = lag_report(collector, monitor, clock(), only, freshness)
            print(json.dumps(report.to_json()) if args.json else render_report(report, args))
            if not args.watch:
                return 0
            sleep(args.interval)
    except KeyboardInterrupt:
        return 0
    except KafkaLayerError as e:
        print(f"lag: {e}", file=sys.stderr)
        return 1


def store_freshness(settings: StoreSettings) -> FreshnessReader:
    """The store's freshness marks, read on each refresh through one engine."""
    engine: Engine | None = None

    def read() -> Mapping[str, datetime]:
        nonlocal engine
        _refuse_missing_sqlite(settings.database_url)
        engine = engine or make_engine(settings.database_url, settings.pool_size)
        try:
            return read_freshness(engine)
        except SQLAlchemyError as e:
            raise FreshnessUnavailableError(
                f"cannot read the store ({getattr(e, 'orig', e)}); run `gather-sync db migrate` "
                f"or point GATHER_DATABASE_URL at the store"
            ) from e

    return read


def _refuse_missing_sqlite(url: str) -> None:
    """Reading would create an empty SQLite file; say there is no store instead."""
    parsed = make_url(url)
    path = parsed.database or ""
    on_disk = parsed.get_backend_name() == "sqlite" and path not in ("", ":memory:")
    if on_disk and not Path(path).exists():
        raise FreshnessUnavailableError(
            f"no store at {path}; set GATHER_DATABASE_URL to the store the sink writes"
        )


# --- rendering --------------------------------------------------------------------------------


def render_report(report: LagReport, args: argparse.Namespace) -> str:
    at = datetime.fromtimestamp(report.at, tz=UTC).isoformat(timespec="seconds")
    lines = [f"consumer lag at {at}" + (f" (every {args.interval:g} s)" if args.watch else "")]
    if report.partitions:
        lines.append(format_table(LAG_HEADERS, [_lag_row(p) for p in report.partitions]))
    else:
        lines.append("no consumer group has committed offsets" + _filter_note(args))
    lines.extend(_freshness_lines(report))
    return "\n".join(lines)


def _lag_row(p: PartitionLag) -> list[object]:
    seconds = "-" if p.lag_seconds is None else f"{p.lag_seconds:.1f}"
    return [p.group, p.topic, p.partition, p.committed, p.end, p.lag, seconds, p.status_text]


def _filter_note(args: argparse.Namespace) -> str:
    parts = [f"group {g}" for g in args.group or ()] + [f"topic {t}" for t in args.topic or ()]
    return f" ({', '.join(parts)})" if parts else ""


def _freshness_lines(report: LagReport) -> list[str]:
    if report.freshness is None:
        return []
    if report.freshness_error:
        return ["", f"freshness: unavailable: {report.freshness_error}"]
    if not report.freshness:
        return ["", "freshness: no Salesforce change has been applied to the store yet"]
    rows = [
        [f.tenant, f.newest_commit_at.isoformat(timespec="seconds"), f"{f.age_seconds:.1f}"]
        for f in report.freshness
    ]
    title = "freshness: the newest Salesforce commit applied to the store, per tenant"
    return ["", title, format_table(("tenant", "newest commit", "age s"), rows)]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    numeric = [all(_is_number(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        columns = zip(row, widths, numeric, strict=True)
        padded = (c.rjust(w) if n else c.ljust(w) for c, w, n in columns)
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), *(line(r) for r in cells)])


def _is_number(text: str) -> bool:
    return text == "-" or text.replace(".", "", 1).lstrip("-").isdigit()
