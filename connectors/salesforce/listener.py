"""The listener process: holds the CDC subscriptions of the tenants assigned to this replica.

Replicas share tenants through a Kafka consumer group on the compacted `gather.tenants` topic:
the partitions a replica is assigned are the tenants it subscribes, so each org has exactly
one live subscription. When a replica leaves (SIGTERM) its tenants are stopped before the
group rebalances; when it dies, the group gives its partitions to the others after the session
timeout. A newer config of a tenant restarts that tenant's subscription; a tombstone stops it.
https://kafka.apache.org/documentation/#consumerconfigs_session.timeout.ms
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import structlog
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from connectors.kafka.failures import classify
from connectors.kafka.producer import AsyncProducer
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import provision_contract_topics
from connectors.retrying import Patience, patiently
from connectors.salesforce.auth import authenticator_for, http_session
from connectors.salesforce.checkpoints import Checkpoint, read_checkpoints
from connectors.salesforce.errors import SalesforceConnectorError
from connectors.salesforce.orgapi import OrgApi
from connectors.salesforce.readiness import watch
from connectors.salesforce.settings import ListenerSettings
from connectors.salesforce.supervisor import RestartPolicy, Supervisor
from connectors.salesforce.tenant_stream import StreamDeps, TenantStream
from connectors.telemetry.health import HEALTH, Health
from schemas.contract import Topics
from schemas.errors import ConfigError
from schemas.loader import validate_tenant_config
from schemas.tenant import TenantConfig

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass
class Running:
    supervisor: Supervisor
    task: asyncio.Task[None]
    partition: int


@dataclass
class Listener:
    settings: ListenerSettings
    kafka: KafkaSettings
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    tenants: dict[str, Running] = field(default_factory=dict)
    checkpoints: dict[str, Checkpoint] = field(default_factory=dict)
    health: Health = field(default_factory=lambda: HEALTH)  # /livez and /readyz

    def __post_init__(self) -> None:
        self.topics = Topics.of(self.kafka)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        # The topics it writes (sf.schemas among them) exist before its first produce.
        # Both wait out a broker that is down or restarting, saying so (`connectors.retrying`).
        await asyncio.to_thread(self._patiently, _provision, "provision topics")
        self.producer = AsyncProducer(self.kafka.producer_config(), loop)
        self.checkpoints = await asyncio.to_thread(
            self._patiently, lambda _: self._read_checkpoints(), "read checkpoints"
        )
        consumer = Consumer(self._consumer_config())
        tenants = self.settings.tenants_topic or self.topics.gather_tenants
        consumer.subscribe([tenants], on_assign=self._on_assign, on_revoke=self._on_revoke)
        log.info("listener started", checkpoints=len(self.checkpoints))
        turn, group = watch(self.health, self)
        try:
            while not stop.is_set():
                turn.beat()
                group.observe(consumer)
                message = await asyncio.to_thread(consumer.poll, 0.5)
                if message is not None and message.error() is None:
                    await self._config_message(message)
        finally:
            await self._stop_tenants(list(self.tenants))
            await asyncio.to_thread(consumer.close)
            await self.producer.close()
            log.info("listener stopped")

    def _patiently(self, call: Callable[[KafkaSettings], T], what: str) -> T:
        patience = Patience("listener", "kafka", classify)
        return patiently(lambda: call(self.kafka), what, patience)

    def _read_checkpoints(self) -> dict[str, Checkpoint]:
        config = self.kafka.consumer_config(f"{self.settings.group_id}-checkpoints")
        return read_checkpoints(config, self.topics.sf_checkpoints)

    def _consumer_config(self) -> dict[str, Any]:
        # Eager "range" assignment: a rebalance first revokes everything, and on_revoke stops
        # those subscriptions before any other replica can be given the same tenants.
        # A broker away for longer than the session timeout costs about one session timeout
        # more once it is back (10-12 s measured, issue 12): librdkafka drops its member id and
        # stops the tenants ("lost": the coordinator may give them to another replica as soon as
        # it answers), and the reloaded coordinator holds the new JoinGroup until the old member
        # id expires. Static membership (group.instance.id) would skip that wait, but a replica
        # stopped by SIGTERM would then hold its tenants unsubscribed for a session timeout
        # (static members send no LeaveGroup) in every rolling restart, so it is not used.
        return self.kafka.consumer_config(self.settings.group_id) | {
            "partition.assignment.strategy": "range",
            "session.timeout.ms": self.settings.session_timeout_ms,
            "heartbeat.interval.ms": max(1000, self.settings.session_timeout_ms // 5),
        }

    # --- assignment (called inside poll, on the polling thread) --------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Checkpoints again: tenants taken over from another replica resume from what it wrote.
        self.checkpoints.update(
            self._patiently(lambda _: self._read_checkpoints(), "read checkpoints")
        )
        # Configs are compacted: read each assigned partition from its start for the newest.
        for partition in partitions:
            partition.offset = OFFSET_BEGINNING
        consumer.assign(partitions)
        log.info("tenant partitions assigned", partitions=sorted(p.partition for p in partitions))

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        lost = {p.partition for p in partitions}
        names = [t for t, r in self.tenants.items() if r.partition in lost]
        future = asyncio.run_coroutine_threadsafe(self._stop_tenants(names), self._loop)
        future.result(timeout=120)
        log.info("tenant partitions revoked", partitions=sorted(lost), stopped=names)

    # --- configs -------------------------------------------------------------------------------

    async def _config_message(self, message: Message) -> None:
        key = (message.key() or b"").decode()
        value = message.value()
        if value is None:
            await self._stop_tenants([key])
            log.info("tenant removed", tenant=key)
            return
        try:
            config = validate_tenant_config(_json(value))
        except (ConfigError, ValueError) as e:
            log.error("tenant config refused", tenant=key, error=str(e))
            return
        await self._stop_tenants([config.tenant])
        self._start(config, message.partition() or 0)

    def _start(self, config: TenantConfig, partition: int) -> None:
        try:
            deps = self._deps(config)
        except SalesforceConnectorError as e:
            log.error("tenant not started", tenant=config.tenant, error=str(e))
            return
        supervisor = Supervisor(
            TenantStream(config, deps),
            self._renew,
            RestartPolicy(self.settings.restart_base_delay, self.settings.restart_max_delay),
            sleep=asyncio.sleep,
            random=random.random,
            now=time.monotonic,
        )
        task = asyncio.create_task(supervisor.run(), name=f"tenant-{config.tenant}")
        self.tenants[config.tenant] = Running(supervisor, task, partition)
        log.info("tenant started", tenant=config.tenant, objects=config.synced_objects())

    def _renew(self, failed: TenantStream) -> TenantStream:
        """After an unexpected failure: new clients, the same checkpoints."""
        failed.deps.orgapi.session.close()
        return failed.successor(self._deps(failed.config))

    def _deps(self, config: TenantConfig) -> StreamDeps:
        session = http_session(self.settings.salesforce_ca_file)
        authenticator = authenticator_for(config.salesforce, self.environ, session)
        orgapi = OrgApi(
            authenticator,
            session,
            config.salesforce.api_version,
            sleep=time.sleep,
            tenant=config.tenant,
        )
        return StreamDeps(
            producer=self.producer,
            authenticator=authenticator,
            orgapi=orgapi,
            ssl_context=self._ssl_context(),
            checkpoints=self.checkpoints,
            topics=self.topics,
            now=time.monotonic,
            clock=lambda: datetime.now(UTC),
            checkpoint_interval=self.settings.checkpoint_interval,
            connection_timeout=self.settings.connection_timeout,
            max_in_flight=self.settings.max_in_flight,
            ack_timeout=self.settings.kafka_ack_timeout,
            pubsub_ca=self._ca_pem(),
            pubsub_pings=(self.settings.pubsub_ping_interval, self.settings.pubsub_ping_timeout),
        )

    def _ca_pem(self) -> bytes | None:
        ca = self.settings.salesforce_ca_file
        return Path(ca).read_bytes() if ca else None

    def _ssl_context(self) -> ssl.SSLContext | None:
        ca = self.settings.salesforce_ca_file
        return ssl.create_default_context(cafile=ca) if ca else None

    async def _stop_tenants(self, names: list[str]) -> None:
        running = [self.tenants.pop(n) for n in names if n in self.tenants]
        for r in running:
            r.task.cancel()
        await asyncio.gather(*(r.task for r in running), return_exceptions=True)


def _provision(kafka: KafkaSettings) -> object:
    # 10 s per attempt: a broker that is away is reported (and retried) within seconds
    return provision_contract_topics(kafka, timeout=10.0)


def _json(value: bytes) -> Any:
    return json.loads(value)
