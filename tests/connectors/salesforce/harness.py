"""Running the listener against sfsim and the real broker: in a thread, or as a process that a
test can kill -9; reading what reached `sf.changes`; the expected changes from sfsim's log."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import (
    TopicSpec,
    provision_contract_topics,
    provision_topics,
)
from connectors.salesforce.listener import Listener
from connectors.salesforce.settings import ListenerSettings
from schemas.changes import SalesforceChange
from schemas.contract import Topics
from schemas.tenant import TenantConfig
from sfsim.testing import ThreadedSfsim

REPO = Path(__file__).resolve().parents[3]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def tenants_topic(kafka: KafkaSettings, partitions: int = 2) -> str:
    """A compacted tenants topic of the test's own, so no other test's tenants are started."""
    provision_contract_topics(kafka)
    topic = unique("tenants")
    spec = TopicSpec(topic, partitions, {"cleanup.policy": "compact"})
    provision_topics(AdminClient(kafka.admin_config()), [spec], 1)
    return topic


def apply_configs(kafka: KafkaSettings, topic: str, configs: list[TenantConfig]) -> None:
    producer = Producer(kafka.producer_config())
    for config in configs:
        producer.produce(topic, key=config.tenant.encode(), value=config.model_dump_json().encode())
    assert producer.flush(30) == 0


def listener_settings(topic: str, sfsim: ThreadedSfsim, **overrides: Any) -> ListenerSettings:
    return ListenerSettings(
        tenants_topic=topic,
        group_id=unique("listener"),
        salesforce_ca_file=sfsim.credentials.ca,
        checkpoint_interval=0.2,
        connection_timeout=10,
        session_timeout_ms=6000,
        **overrides,
    )


class ListenerThread:
    """A Listener on its own event loop in a thread, stopped as SIGTERM would stop it."""

    def __init__(
        self, settings: ListenerSettings, kafka: KafkaSettings, environ: dict[str, str]
    ) -> None:
        self.listener = Listener(settings, kafka, environ)
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self._loop.run_until_complete(self.listener.run(self._stop))

    def __enter__(self) -> ListenerThread:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)


@contextmanager
def listener_process(
    settings: ListenerSettings, kafka: KafkaSettings, environ: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`gather-sync listen` as its own process (its log in `log`)."""
    env = (
        os.environ
        | environ
        | {
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "LISTENER_TENANTS_TOPIC": settings.tenants_topic or "",
            "LISTENER_GROUP_ID": settings.group_id,
            "LISTENER_SALESFORCE_CA_FILE": settings.salesforce_ca_file or "",
            "LISTENER_CHECKPOINT_INTERVAL": str(settings.checkpoint_interval),
            "LISTENER_SESSION_TIMEOUT_MS": str(settings.session_timeout_ms),
            "LISTENER_CONNECTION_TIMEOUT": str(settings.connection_timeout),
        }
    )
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "listen"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)


class ChangesReader:
    """Everything a tenant has in `sf.changes` (or its DLQ), read from the start."""

    def __init__(self, kafka: KafkaSettings, topic: str | None = None) -> None:
        self._consumer = Consumer(
            kafka.consumer_config(unique("reader")) | {"enable.auto.commit": False}
        )
        self._consumer.subscribe([topic or Topics.of(kafka).sf_changes])
        self.messages: list[tuple[str, bytes]] = []
        self.timestamps: list[int] = []  # each message's CreateTime: when the producer sent it

    def poll_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = self._consumer.poll(0.2)
            if message is not None and message.error() is None:
                self.messages.append(((message.key() or b"").decode(), message.value() or b""))
                self.timestamps.append(message.timestamp()[1])

    def changes(self, tenant: str) -> list[SalesforceChange]:
        return [
            SalesforceChange.model_validate_json(v)
            for k, v in self.messages
            if k.startswith(f"{tenant}:")
        ]

    def wait(
        self, tenant: str, done: Callable[[list[SalesforceChange]], bool], timeout: float = 60.0
    ) -> list[SalesforceChange]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll_for(0.5)
            if done(self.changes(tenant)):
                break
        return self.changes(tenant)

    def close(self) -> None:
        self._consumer.close()


def dlq_reader(kafka: KafkaSettings) -> ChangesReader:
    topics = Topics.of(kafka)
    return ChangesReader(kafka, topics.dlq(topics.sf_changes))


def wait_until(condition: Callable[[], bool], timeout: float = 60.0, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def event_keys(
    sfsim: ThreadedSfsim,
    after_replay_id: int,
    tenant: str,
    objects: tuple[str, ...] = ("Account", "Contact"),
) -> set[tuple[str, tuple[int, int, int]]]:
    """(record key, version) of every change event of the synced objects in sfsim's log after
    a replay id."""

    def collect() -> set[tuple[str, tuple[int, int, int]]]:
        found = set()
        for event in sfsim.state.log.after(after_replay_id, "/data/ChangeEvents", 10**7):
            header = event.data["payload"]["ChangeEventHeader"]
            if header["entityName"] not in objects:
                continue
            version = (header["commitTimestamp"], header["commitNumber"], header["sequenceNumber"])
            for record_id in header["recordIds"]:
                found.add((f"{tenant}:{header['entityName']}:{record_id}", version))
        return found

    return sfsim.call(collect)


def change_keys(changes: list[SalesforceChange]) -> set[tuple[str, tuple[int, int, int]]]:
    return {(c.key, c.version.as_tuple()) for c in changes}


class Traffic:
    """Changes in the org from a background thread, a few every pause, until stopped."""

    def __init__(self, org: ThreadedSfsim, changes: int = 4, pause: float = 0.05) -> None:
        self.org, self._stop = org, threading.Event()
        self._changes, self._pause = changes, pause
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.org.call(lambda: self.org.generator.burst(self._changes))
            time.sleep(self._pause)

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def __enter__(self) -> Traffic:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
