"""`gather-sync replay`: move a consumer group back on a topic so it re-reads from a point.

`--dry-run` prints, per partition, from where to where and how many messages would be re-read;
without it the offsets are moved (only while the group has no live members) and the replay is
recorded in gather.replays (see connectors/kafka/replay.py)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from confluent_kafka import KafkaException

from cli.lag import format_table
from connectors.kafka.errors import KafkaLayerError
from connectors.kafka.replay import (
    ByDuration,
    ReplayClient,
    ReplayPlan,
    ReplayTarget,
    ToDatetime,
    ToEarliest,
    ToOffset,
    parse_duration,
)
from connectors.kafka.settings import KafkaSettings

PLAN_HEADERS = ("partition", "from", "to", "earliest", "end", "re-read", "note")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", required=True, help="the consumer group to move back")
    parser.add_argument("--topic", required=True, help="the topic whose offsets move")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-earliest", action="store_true", help="the oldest retained message")
    target.add_argument(
        "--to-datetime",
        type=_aware_datetime,
        metavar="ISO",
        help="the first message at or after this time, e.g. 2026-11-28T09:00:00Z",
    )
    target.add_argument(
        "--by-duration",
        type=_duration,
        metavar="DURATION",
        help="the first message of the last DURATION, e.g. 2h, 90m, 1h30m",
    )
    target.add_argument("--to-offset", type=int, metavar="N", help="offset N on every partition")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")


def replay(args: argparse.Namespace) -> int:
    return run_replay(args, KafkaSettings(), datetime.now(UTC))


def run_replay(args: argparse.Namespace, settings: KafkaSettings, now: datetime) -> int:
    client = ReplayClient(settings)
    try:
        plan = client.plan(args.group, args.topic, target_of(args), now)
        print(render_plan(plan, args.dry_run))
        if not args.dry_run:
            print(render_applied(client.apply(plan, now), client.replays_topic))
        return 0
    except KafkaLayerError as e:
        print(f"replay refused: {e}", file=sys.stderr)
    except KafkaException as e:
        print(
            f"replay failed: cannot reach Kafka at {settings.bootstrap_servers} ({e}); check "
            f"KAFKA_BOOTSTRAP_SERVERS and that the broker is up",
            file=sys.stderr,
        )
    return 1


def target_of(args: argparse.Namespace) -> ReplayTarget:
    if args.to_datetime is not None:
        return ToDatetime(args.to_datetime)
    if args.by_duration is not None:
        return ByDuration(args.by_duration)
    if args.to_offset is not None:
        return ToOffset(args.to_offset)
    return ToEarliest()


def render_plan(plan: ReplayPlan, dry_run: bool) -> str:
    state = " (dry run: nothing changed)" if dry_run else ""
    rows = [
        [
            p.partition,
            "-" if p.committed is None else p.committed,
            p.target,
            p.low,
            p.high,
            p.messages,
            p.note,
        ]
        for p in plan.partitions
    ]
    lines = [
        f"replay of group '{plan.group}' on topic '{plan.topic}' to {plan.target}{state}",
        format_table(PLAN_HEADERS, rows),
        f"total: {plan.messages} message(s) to re-read on {len(plan.changed)} partition(s)",
    ]
    if dry_run and plan.live_members:
        lines.append(
            f"note: group '{plan.group}' has {len(plan.live_members)} live member(s) "
            f"({', '.join(plan.live_members)}); the replay will be refused until they stop"
        )
    return "\n".join(lines)


def render_applied(plan: ReplayPlan, audit_topic: str) -> str:
    if not plan.changed:
        return "nothing to move: every partition is already at or before its target"
    moves = [f"  partition {p.partition}: {p.committed} -> {p.target}" for p in plan.changed]
    return "\n".join(
        [
            f"replayed: group '{plan.group}' moved back on {len(plan.changed)} partition(s) of "
            f"'{plan.topic}'; it re-reads {plan.messages} message(s) when it starts",
            *moves,
            f"recorded in {audit_topic}; `gather-sync lag --group {plan.group}` shows it as "
            f"REWIND (replay) until the group is back where it was",
        ]
    )


def _aware_datetime(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an ISO 8601 time; write e.g. 2026-11-28T09:00:00Z"
        ) from None
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"'{text}' has no time zone; add one, e.g. {text}Z for UTC or {text}+01:00"
        )
    return at


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
