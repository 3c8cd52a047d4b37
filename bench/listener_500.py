"""One listener process holding 500 tenant subscriptions: memory, CPU, and the delay from the
sfsim commit to the Kafka acknowledgement; on CometD and on the Pub/Sub API, one after the
other in one run (`--transport` picks one).

    .venv/bin/python -m bench.listener_500          # or: make bench-listener

Needs the local broker (`deploy/local/kafka.sh start`; KAFKA_BOOTSTRAP_SERVERS is read from it).
sfsim runs as its own process, on real time; the 500 tenants all point at that one org and sync
Accounts, so each Account change there is delivered to 500 subscriptions: 2 changes a second
make 1,000 events a second for the listener. The delay is the broker's LogAppendTime (set on
`sf.changes` for the run) minus the event's commitTimestamp. The run has topics of its own
(KAFKA_TOPIC_PREFIX=bench-<run>., the listener's included), deleted with its groups at the
end. Baselines from the same run: the listener with no tenants (memory, CPU), and a bare
confluent-kafka producer at 1,000 messages a second (delay from produce to LogAppendTime).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import TopicSpec, provision_contract_topics, provision_topics
from schemas.changes import SalesforceChange
from schemas.contract import Topics
from schemas.loader import validate_tenant_config
from sfsim.testing import serve_process

REPO = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")


def _kafka() -> KafkaSettings:
    if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
        line = (
            subprocess.run(
                [str(REPO / "deploy/local/kafka.sh"), "start"],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = line.split("=", 1)[1]
    return KafkaSettings()


def _sfsim(tls: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    return serve_process(tls, "--accounts", "50", "--poll-timeout-ms", "30000")


def _admin(c: dict[str, Any], path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"{c['url']}/sfsim/admin/{path}",
        data=json.dumps(body or {}).encode(),
        headers={"Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=c["ca"])
    with urllib.request.urlopen(request, context=context, timeout=120) as response:
        return json.loads(response.read())


def _configs(c: dict[str, Any], run: str, count: int, transport: str) -> list[Any]:
    return [
        validate_tenant_config(
            {
                "tenant": f"{run}-{n:03d}",
                "salesforce": {
                    "instance_url": c["url"],
                    "login_url": c["url"],
                    "auth": {
                        "flow": "client_credentials",
                        "client_id": c["client_id"],
                        "client_secret": {"env": "BENCH_SF_SECRET"},
                    },
                    "transport": transport,
                    "pubsub_endpoint": c["pubsub"],
                },
                "accounts": {"sync_mode": "create_new", "id_field": "AccountNumber"},
            }
        )
        for n in range(count)
    ]


def _listener(
    kafka: KafkaSettings, topic: str, c: dict[str, Any], log: Path
) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "LISTENER_TENANTS_TOPIC": topic,
        "LISTENER_GROUP_ID": f"bench-{topic}",
        "LISTENER_SALESFORCE_CA_FILE": c["ca"],
        "BENCH_SF_SECRET": c["client_secret"],
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cli.main", "listen"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@dataclass
class Usage:
    rss_mib: float
    cpu_percent: float


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _usage(pid: int, seconds: float) -> Usage:
    start, began = _cpu_ticks(pid), time.monotonic()
    time.sleep(seconds)
    spent = (_cpu_ticks(pid) - start) / TICK
    return Usage(_rss_mib(pid), 100 * spent / (time.monotonic() - began))


def _apply(kafka: KafkaSettings, topic: str, configs: list[Any]) -> None:
    producer = Producer(kafka.producer_config())
    for config in configs:
        producer.produce(topic, key=config.tenant.encode(), value=config.model_dump_json().encode())
    assert producer.flush(60) == 0


def _wait(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(1)
    return False


def _set_log_append_time(kafka: KafkaSettings, topic: str, on: bool) -> None:
    admin = AdminClient(kafka.admin_config())
    op = AlterConfigOpType.SET if on else AlterConfigOpType.DELETE
    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry("message.timestamp.type", "LogAppendTime", incremental_operation=op)
        ],
    )
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def _load(c: dict[str, Any], seconds: float, per_second: float) -> int:
    """Account updates in the org at a steady rate; returns how many were made."""
    ids = _admin(
        c,
        "transaction",
        {
            "writes": [
                {"op": "create", "object": "Account", "values": {"Name": f"Bench {n}"}}
                for n in range(20)
            ]
        },
    )["ids"]
    made, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:
        account = ids[made % len(ids)]
        _admin(
            c,
            "transaction",
            {
                "writes": [
                    {
                        "op": "update",
                        "object": "Account",
                        "id": account,
                        "values": {"Phone": f"+1 555 {made:07d}"},
                    }
                ]
            },
        )
        made += 1
        time.sleep(max(0.0, started + made / per_second - time.monotonic()))
    return made


def _delays(
    kafka: KafkaSettings, run: str, since_ms: int, expected: int, timeout: float
) -> list[float]:
    consumer = Consumer(kafka.consumer_config(f"bench-read-{run}"))
    topic = Topics.of(kafka).sf_changes
    partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
    wanted = [TopicPartition(topic, p, since_ms) for p in partitions]
    consumer.assign(consumer.offsets_for_times(wanted, timeout=30))
    delays: list[float] = []
    deadline = time.monotonic() + timeout
    while len(delays) < expected and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if (
            message is None
            or message.error()
            or not (message.key() or b"").startswith(run.encode())
        ):
            continue
        change = SalesforceChange.model_validate_json(message.value() or b"{}")
        if change.change_type.value == "UPDATE":
            delays.append(float(message.timestamp()[1] - change.version.commit_ts))
    consumer.close()
    return delays


def _bare_producer_delays(kafka: KafkaSettings, seconds: float, per_second: int) -> list[float]:
    topic = f"{kafka.topic_prefix}bare"
    provision_topics(
        AdminClient(kafka.admin_config()),
        [TopicSpec(topic, kafka.partitions, {"message.timestamp.type": "LogAppendTime"})],
        1,
    )
    delays: list[float] = []
    producer = Producer(kafka.producer_config())

    def on_delivery(sent: float) -> Callable[[Any, Any], None]:
        def done(err: Any, msg: Any) -> None:
            if err is None:
                delays.append(msg.timestamp()[1] - sent)

        return done

    started, n = time.monotonic(), 0
    while time.monotonic() - started < seconds:
        sent = time.time() * 1000
        producer.produce(
            topic,
            key=f"k{n}".encode(),
            value=b"x" * 600,
            on_delivery=on_delivery(sent),
        )
        producer.poll(0)
        n += 1
        time.sleep(max(0.0, started + n / per_second - time.monotonic()))
    producer.flush(30)
    return delays[per_second:]  # the first second includes metadata and leader lookups


def _py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling the listener (its threads included) for the loaded window."""
    command = [str(REPO / ".venv/bin/py-spy"), "record", "-o", str(out), "-f", "raw"]
    command += ["-d", str(max(1, int(seconds) - 2)), "--threads", "--pid", str(pid)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _pct(values: list[float], q: int) -> float:
    return (
        statistics.quantiles(values, n=100)[q - 1] if len(values) >= 100 else max(values, default=0)
    )


def _clean_up(kafka: KafkaSettings, run: str, groups: list[str]) -> None:
    """The run's topics (its prefix) and consumer groups."""
    admin = AdminClient(kafka.admin_config())
    mine = [t for t in admin.list_topics(timeout=30).topics if t.startswith(f"bench-{run}.")]
    futures = [*admin.delete_topics(mine, operation_timeout=60).values()] if mine else []
    futures += admin.delete_consumer_groups(groups, request_timeout=30).values()
    for future in futures:
        with contextlib.suppress(KafkaException):
            future.result()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument(
        "--transport",
        choices=("cometd", "pubsub", "both"),
        default="both",
        help="the tenants' transport; both: one after the other, each with its own listener",
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the loaded window")
    parser.add_argument(
        "--profile",
        type=Path,
        help="write a py-spy profile of the listener over the loaded window here (raw format: "
        "one line per stack with its sample count)",
    )
    args = parser.parse_args()
    transports = ("cometd", "pubsub") if args.transport == "both" else (args.transport,)
    for transport in transports:
        print(f"\n### Transport: {transport}\n", flush=True)
        measure(args, transport)
    return 0


def subscribed(state: dict[str, Any], transport: str) -> int:
    """How many subscriptions sfsim serves on the transport (a Pub/Sub stream per tenant here:
    each syncs one object)."""
    return int(state["cometd_polling"] if transport == "cometd" else state["pubsub_streams"])


def measure(args: argparse.Namespace, transport: str) -> None:
    run = f"b{uuid.uuid4().hex[:6]}"
    # the run's own topics (the listener inherits the prefix), deleted at the end
    os.environ["KAFKA_TOPIC_PREFIX"] = f"bench-{run}."
    kafka = _kafka()
    provision_contract_topics(kafka)
    topic = f"bench-{run}.tenants"
    provision_topics(
        AdminClient(kafka.admin_config()), [TopicSpec(topic, 4, {"cleanup.policy": "compact"})], 1
    )
    with tempfile.TemporaryDirectory() as tmp:
        sfsim, c = _sfsim(Path(tmp))
        listener = _listener(kafka, topic, c, Path(tmp) / "listener.log")
        try:
            time.sleep(10)
            empty = _usage(listener.pid, 10)
            _apply(kafka, topic, _configs(c, run, args.tenants, transport))
            started = time.monotonic()
            ready = lambda: subscribed(_admin(c, "state"), transport) >= args.tenants  # noqa: E731
            assert _wait(ready, 600), "not all subscribed"
            subscribe_s = time.monotonic() - started
            idle = _usage(listener.pid, 20)
            _set_log_append_time(kafka, Topics.of(kafka).sf_changes, True)
            since = int(time.time() * 1000)
            rate = 1000 / args.tenants
            # the listener's use, and sfsim's: it answers the same 500 long-polls per change on
            # the same two cores, so its share bounds the listener's
            loaded_usage: dict[str, Usage] = {}

            def sample(name: str, pid: int) -> None:
                loaded_usage[name] = _usage(pid, args.seconds - 2)

            samplers = [
                threading.Thread(target=sample, args=(name, pid))
                for name, pid in (("listener", listener.pid), ("sfsim", sfsim.pid))
            ]
            for sampler in samplers:
                sampler.start()
            spy = _py_spy(listener.pid, args.seconds, args.profile) if args.profile else None
            cpu_from, began = _cpu_ticks(listener.pid), time.monotonic()
            made = _load(c, args.seconds, rate)
            for sampler in samplers:
                sampler.join()
            if spy is not None:
                spy.wait(60)
            delays = _delays(kafka, run, since, made * args.tenants, timeout=120)
            # CPU per event: from the load's start until its last event is on sf.changes (a
            # listener starved of CPU works its backlog off after the window), less idle use
            spent = (_cpu_ticks(listener.pid) - cpu_from) / TICK
            busy = spent - idle.cpu_percent / 100 * (time.monotonic() - began)
            cpu_ms = 1000 * busy / max(1, len(delays))
            _set_log_append_time(kafka, Topics.of(kafka).sf_changes, False)
            bare = _bare_producer_delays(kafka, 10, 1000)
        finally:
            listener.terminate()
            listener.wait(60)
            sfsim.terminate()
            sfsim.wait(30)
            _clean_up(kafka, run, [f"bench-{topic}", f"bench-read-{run}"])
    _report(args.tenants, subscribe_s, empty, idle, loaded_usage, made, delays, bare, args.seconds)
    print(
        f"\nListener CPU per event: {cpu_ms:.2f} ms (its CPU from the load's start until the "
        "last event reached sf.changes, less its idle use, over the events)"
    )
    per_subscription = (idle.rss_mib - empty.rss_mib) / args.tenants
    print(f"RSS per subscription: {per_subscription:.2f} MiB (idle less no tenants, per tenant)")


def _report(
    tenants: int,
    subscribe_s: float,
    empty: Usage,
    idle: Usage,
    loaded: dict[str, Usage],
    made: int,
    delays: list[float],
    bare: list[float],
    seconds: float,
) -> None:
    expected = made * tenants
    print(
        f"{tenants} tenants subscribed in {subscribe_s:.0f} s; {made} Account changes over "
        f"{seconds:.0f} s = {expected / seconds:,.0f} events/s for the listener; "
        f"{len(delays)} of {expected} reached sf.changes\n"
    )
    print("| listener state | RSS MiB | CPU % of one core |")
    print("| --- | ---: | ---: |")
    for label, usage in (
        ("no tenants (baseline)", empty),
        (f"{tenants} tenants, idle", idle),
        (f"{tenants} tenants, {expected / seconds:,.0f} events/s", loaded["listener"]),
        ("sfsim meanwhile (not the listener: the org it reads)", loaded["sfsim"]),
    ):
        print(f"| {label} | {usage.rss_mib:.0f} | {usage.cpu_percent:.1f} |")
    print("\n| delay to the Kafka acknowledgement | p50 ms | p99 ms | ratio p50 |")
    print("| --- | ---: | ---: | ---: |")
    base = _pct(bare, 50)
    print(f"| bare producer, 1,000 msg/s (baseline) | {base:.1f} | {_pct(bare, 99):.1f} | 1.0 |")
    p50, p99 = _pct(delays, 50), _pct(delays, 99)
    ratio = p50 / max(base, 0.1)
    print(f"| sfsim commit -> sf.changes via the listener | {p50:.0f} | {p99:.0f} | {ratio:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
