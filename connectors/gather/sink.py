"""The sink: Gather topics -> the store, a batch per transaction, offsets committed after it.

Offsets are committed only once the database transaction holding their upserts committed
(confluent-kafka's "at least once" pattern), so a crash replays the batch, which the store's
monotonic upserts absorb.
https://docs.confluent.io/platform/current/clients/consumer.html#offset-management

No one message stops the sink: a message it cannot parse, that the store refuses on its own
merit, or that raises anything unexpected goes to `<topic>.dlq` with the stage and reason, and
the rest of its batch is written. A failure that is not a message's fault (the database down,
slow or busy; `failures.classify` decides) dead-letters nothing: the whole batch is retried with
capped, jittered backoff, its offsets held, until it goes through or the sink is stopped.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TypeVar

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.backoff import backoff
from connectors.gather.errors import TransientError
from connectors.gather.failures import classify
from connectors.gather.store import ApplyResult, SqlStore
from connectors.kafka.client_errors import ClientErrors
from connectors.kafka.failures import classify as classify_kafka
from connectors.kafka.settings import KafkaSettings
from connectors.telemetry.health import HEALTH, Health
from connectors.telemetry.metrics import (
    CONSUMER_ERRORS,
    DLQ_MESSAGES,
    END_TO_END_DELAY,
    MESSAGES_IN,
    MESSAGES_OUT,
    RECORDS_SKIPPED,
    RETRIES,
    STAGE_FAILURES,
    WAITING,
)
from schemas.contract import DeadLetter, Topics, tenant_of
from schemas.errors import ConfigError
from schemas.gather import GatherUpsert
from schemas.loader import validate_tenant_config

log = structlog.get_logger(__name__)
T = TypeVar("T")


class SinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SINK_", frozen=True, extra="ignore")

    group_id: str = Field(default="gather-sync-sink", description="SINK_GROUP_ID")
    batch_size: int = Field(
        default=500, ge=1, description="SINK_BATCH_SIZE: messages per transaction"
    )
    poll_timeout: float = Field(default=1.0, gt=0, description="SINK_POLL_TIMEOUT: seconds")
    retry_base: float = Field(
        default=0.5,
        gt=0,
        description="SINK_RETRY_BASE: seconds before the first retry of a batch the database "
        "did not take (doubling on each retry)",
    )
    retry_cap: float = Field(
        default=30.0, gt=0, description="SINK_RETRY_CAP: the longest wait between retries, seconds"
    )


NO_MATCH = "no_match_in_gather"  # the skip reason of gather_sync_records_skipped_total


@dataclass
class SinkStats:
    batches: int = 0
    written: int = 0
    dead_letters: int = 0
    retries: int = 0
    consumer_errors: int = 0


@dataclass(frozen=True)
class Letter:
    """A message the sink gave up on, sent to its topic's DLQ once the batch is done."""

    message: Message
    stage: str  # sink.parse, sink.write, sink.tenant_config
    reason: str


@dataclass
class Sink:
    store: SqlStore
    kafka: KafkaSettings
    settings: SinkSettings
    now: Callable[[], datetime]
    # The wait between retries; None waits on `run`'s stop event, so a SIGTERM ends a backoff.
    sleep: Callable[[float], object] | None = None
    jitter: Callable[[], float] = field(default_factory=lambda: random.Random().random)
    stats: SinkStats = field(default_factory=SinkStats)
    newest: dict[str, datetime] = field(default_factory=dict)  # tenant -> newest applied commit
    health: Health = field(default_factory=lambda: HEALTH)  # /livez and /readyz

    def __post_init__(self) -> None:
        self.topics = Topics.of(self.kafka)

    def run(self, stop: threading.Event) -> None:
        consumer = Consumer(
            self.kafka.consumer_config(self.settings.group_id)
            | {"on_commit": self._commit_report}
            | ClientErrors("sink").config()
        )
        self._committing: list[Message] = []  # the newest batch whose commit was sent
        consumer.subscribe([*self.topics.gather_data, self.topics.gather_tenants])
        self._dlq = Producer(self.kafka.producer_config() | ClientErrors("sink.dlq").config())
        self._outbox: list[tuple[str, bytes | None, bytes | None]] = []  # letters to deliver
        group = self.health.group("consumer")
        self.health.deliveries("dlq_producer", lambda: len(self._dlq))
        loop = self.health.heartbeat("loop")
        wait = loop.pacing(self.sleep or stop.wait)  # a retry's backoff is not a stuck loop
        try:
            while not stop.is_set():
                loop.beat()
                group.observe(consumer)
                messages = _take(consumer, self.settings.batch_size, self.settings.poll_timeout)
                batch = self._readable(messages)
                if batch and self._done(batch, stop, wait):
                    self._commit(consumer, batch)  # the database committed first
        finally:
            self._dlq.flush(30)
            self._commit(consumer, self._committing, asynchronous=False)  # the last one landed
            consumer.close()

    def _done(
        self, batch: list[Message], stop: threading.Event, wait: Callable[..., object]
    ) -> bool:
        """Write the batch and deliver its dead letters, retrying while a dependency fails
        transiently; False when stopped first (nothing committed: the batch is read again)."""
        for tenant, count in Counter(tenant_of(m.key()) for m in batch).items():
            MESSAGES_IN.labels("sink", tenant).inc(count)
        letters = self._retried(lambda: self.handle(batch), batch, stop, wait)
        if letters is None:
            return False
        self._send(letters)
        return self._retried(self._flushed, batch, stop, wait) is not None

    def _retried(
        self,
        work: Callable[[], T],
        batch: list[Message],
        stop: threading.Event,
        wait: Callable[..., object],
    ) -> T | None:
        for attempt in itertools.count(1):
            try:
                done = work()
            except TransientError as e:
                if stop.is_set():
                    return None  # stopping: give the batch up uncommitted, it is read again
                delay = backoff(
                    attempt, self.settings.retry_base, self.settings.retry_cap, self.jitter()
                )
                self._count_retry(batch, e, attempt, delay)
                wait(delay)
                continue
            if attempt > 1:
                _log_per_tenant(
                    log.info, "batch written after retries", _tenants(batch), attempts=attempt
                )
            for dependency in ("database", "kafka"):
                WAITING.labels("sink", dependency).set(0)
            return done
        return None  # unreachable: itertools.count never ends

    def handle(self, batch: list[Message]) -> list[Letter]:
        """Apply one batch; the messages given up on, for the DLQ. Raises TransientError when
        the database failed in a way no message caused (the caller retries the batch)."""
        letters: list[Letter] = []
        upserts: list[tuple[Message, GatherUpsert]] = []
        for message in batch:
            if message.topic() == self.topics.gather_tenants:
                self._tenant_config(message, letters)
            elif (upsert := self._parsed(message, letters)) is not None:
                upserts.append((message, upsert))
        self._write(upserts, letters)
        self.stats.batches += 1
        return letters

    def _parsed(self, message: Message, letters: list[Letter]) -> GatherUpsert | None:
        try:
            return GatherUpsert.model_validate_json(message.value() or b"")
        except ValidationError as e:
            reason = f"not a Gather upsert: {e.errors(include_url=False)[:3]}"
            letters.append(Letter(message, "sink.parse", reason))
            return None

    def _write(self, upserts: list[tuple[Message, GatherUpsert]], letters: list[Letter]) -> None:
        if not upserts:
            return
        try:
            self._applied([u for _, u in upserts])
        except Exception as e:  # a message's fault, unless classify says otherwise (raised)
            _raise_if_transient(e)
            # Find the ones the store refuses (a record of a model not saved, say): one by one.
            for message, upsert in upserts:
                self._guarded(partial(self._applied, [upsert]), message, "sink.write", letters)

    def _guarded(
        self, work: Callable[[], object], message: Message, stage: str, letters: list[Letter]
    ) -> None:
        """Run one message's work; its own failure becomes a letter, a transient one is raised."""
        try:
            work()
        except Exception as e:  # anything one message can cause; classify sorts it
            _raise_if_transient(e)
            letters.append(Letter(message, stage, _describe(e)))

    def _applied(self, upserts: list[GatherUpsert]) -> None:
        """Apply in one transaction; metrics and freshness only once it committed."""
        result = self.store.apply(upserts, self.now())
        self._count(result)
        committed = self.now().timestamp()
        for tenant, written in _by_tenant(upserts).items():
            delays = END_TO_END_DELAY.labels(tenant)  # one label lookup per tenant and batch
            for upsert in written:
                delays.observe(max(0.0, committed - upsert.version.commit_ts / 1000))
            MESSAGES_OUT.labels("sink", tenant).inc(len(written))
        for tenant, commit_at in result.newest.items():
            self.newest[tenant] = max(self.newest.get(tenant, commit_at), commit_at)

    def _count(self, result: ApplyResult) -> None:
        self.stats.written += result.written
        for (tenant, obj), count in result.unmatched.items():
            # an update-existing upsert whose Gather entity does not exist: skipped, by rule
            RECORDS_SKIPPED.labels(tenant, obj, NO_MATCH).inc(count)

    def _tenant_config(self, message: Message, letters: list[Letter]) -> None:
        """Models exist once a tenant's config is saved (its custom objects' models)."""
        if message.value() is None:
            return
        try:
            config = validate_tenant_config(json.loads(message.value() or b""))
        except (ValueError, ValidationError, ConfigError) as e:
            # a config the loader refuses is bad on its own merit: the sink goes on without it
            letters.append(Letter(message, "sink.tenant_config", str(e)[:500]))
            return
        wanted = [(c.model, c.object, c.id_field) for c in config.custom_objects]
        saved = lambda: self.store.save_models(config.tenant, wanted, self.now())  # noqa: E731
        before = len(letters)
        self._guarded(saved, message, "sink.tenant_config", letters)
        if len(letters) == before:
            log.info("tenant models saved", tenant=config.tenant, models=[w[0] for w in wanted])

    # --- what leaves the batch: dead letters, offsets, and what went wrong -------------------

    def _send(self, letters: list[Letter]) -> None:
        """Queue the batch's dead letters (`_flushed` delivers them) and say why each."""
        for letter in letters:
            message, tenant = letter.message, tenant_of(letter.message.key())
            value = DeadLetter.of(letter.stage, letter.reason, message.value()).encode()
            self._outbox.append((self.topics.dlq(message.topic() or ""), message.key(), value))
            self.stats.dead_letters += 1
            DLQ_MESSAGES.labels("sink", tenant).inc()
            log.warning(
                "message sent to the DLQ",
                tenant=tenant,
                stage=letter.stage,
                topic=message.topic(),
                offset=message.offset(),
                reason=letter.reason[:200],
            )

    def _flushed(self) -> bool:
        """The dead letters are in Kafka before the offsets that skip their messages move. A
        full queue or a delivery that failed transiently is retried with the batch."""
        while self._outbox:
            topic, key, value = self._outbox[0]
            try:
                self._dlq.produce(topic, key=key, value=value, on_delivery=self._dlq_report)
            except BufferError as e:
                raise TransientError("dlq_unflushed", f"local queue full: {e}") from e
            self._outbox.pop(0)
        pending = self._dlq.flush(self.settings.poll_timeout * 10) + len(self._outbox)
        if pending:
            raise TransientError("dlq_unflushed", f"{pending} dead letters not yet delivered")
        return True

    def _dlq_report(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            return
        if classify_kafka(error).transient:  # sent again by the next `_flushed`
            self._outbox.append((message.topic() or "", message.key(), message.value()))
            return
        # The DLQ refused the letter itself (too large): nowhere left to put it but the log.
        tenant = tenant_of(message.key())
        STAGE_FAILURES.labels("sink.dlq", tenant).inc()
        log.error("dead letter refused, dropped", tenant=tenant, reason=error.str())

    def _commit(self, consumer: Consumer, batch: list[Message], asynchronous: bool = True) -> None:
        """Commit without waiting for the broker: the next batch is read and written meanwhile
        (the wait was 4% of the sink's time), and `_commit_report` sees the answer. A lost
        commit replays a batch the store already holds, which its upserts absorb; at stop the
        newest batch is committed again and waited for, so a clean stop replays nothing."""
        if not batch:
            return
        self._committing = batch
        try:
            if asynchronous:
                consumer.commit(offsets=_next_offsets(batch), asynchronous=True)
            else:
                consumer.commit(offsets=_next_offsets(batch), asynchronous=False)
        except KafkaException as e:
            # the group moved on (a long retry outlived max.poll.interval.ms, a rebalance): the
            # partitions' next owner reads the batch again, which the store's upserts absorb
            error: KafkaError = e.args[0]
            self._consumer_error(error, topic=None, partition=None, tenants=_tenants(batch))

    def _commit_report(self, error: KafkaError | None, offsets: list[TopicPartition]) -> None:
        """librdkafka's answer to a commit, called from the consumer's poll."""
        for failed in [error] if error else [o.error for o in offsets if o.error]:
            tenants = [] if error else _tenants(self._committing)
            self._consumer_error(failed, topic=None, partition=None, tenants=tenants)

    def _readable(self, messages: list[Message]) -> list[Message]:
        batch = []
        for message in messages:
            error = message.error()
            if error is None:
                batch.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:  # the end of a partition: benign
                self._consumer_error(error, message.topic(), message.partition(), [])
        return batch

    def _consumer_error(
        self, error: KafkaError, topic: str | None, partition: int | None, tenants: list[str]
    ) -> None:
        self.stats.consumer_errors += 1
        CONSUMER_ERRORS.labels("sink", error.name()).inc()
        # a transient one (a coordinator moving, a rebalance) is handled: the batch is read
        # again; a warning, so an error line means something an operator must look at
        _log_per_tenant(
            log.warning if classify_kafka(error).transient else log.error,
            "Kafka consumer error",
            tenants,
            topic=topic,
            partition=partition,
            code=error.name(),
            reason=error.str(),
            fatal=error.fatal(),
        )
        if error.fatal():
            raise KafkaException(error)  # the consumer is unusable; stop, offsets uncommitted

    def _count_retry(
        self, batch: list[Message], error: TransientError, attempt: int, delay: float
    ) -> None:
        self.stats.retries += 1
        RETRIES.labels("sink", error.reason).inc()
        WAITING.labels("sink", "kafka" if error.reason == "dlq_unflushed" else "database").set(1)
        _log_per_tenant(
            log.warning,
            "batch not written, retrying: not a message's fault",
            _tenants(batch),
            reason=error.reason,
            error=str(error)[:300],
            attempt=attempt,
            retry_in=round(delay, 3),
        )


def _take(consumer: Consumer, most: int, timeout: float) -> list[Message]:
    """A batch as soon as anything arrives: the first message is waited for (up to `timeout`),
    the rest is what the client has fetched already. `consume(most, timeout)` waited the whole
    timeout for a full batch, so an idle sink held each change for up to SINK_POLL_TIMEOUT;
    now a batch is as large as the load makes it."""
    first = consumer.poll(timeout)
    if first is None:
        return []
    return [first, *consumer.consume(most - 1, 0)] if most > 1 else [first]


def _log_per_tenant(
    emit: Callable[..., object], event: str, tenants: list[str], **fields: object
) -> None:
    """One line per tenant concerned, so each tenant's log shows it; tenant '' when the error
    belongs to no tenant's message (a broker error read from no message)."""
    for tenant in tenants or [""]:
        emit(event, tenant=tenant, **fields)


def _raise_if_transient(e: Exception) -> None:
    verdict = classify(e)
    if verdict.transient:
        raise TransientError(verdict.reason, _describe(e)) from e


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {getattr(e, 'orig', None) or e}"


def _by_tenant(upserts: list[GatherUpsert]) -> dict[str, list[GatherUpsert]]:
    tenants: dict[str, list[GatherUpsert]] = {}
    for upsert in upserts:
        tenants.setdefault(upsert.tenant, []).append(upsert)
    return tenants


def _tenants(batch: list[Message]) -> list[str]:
    return sorted({tenant_of(m.key()) for m in batch})


def _next_offsets(batch: list[Message]) -> list[TopicPartition]:
    last: dict[tuple[str, int], int] = {}
    for message in batch:
        key = (message.topic() or "", message.partition() or 0)
        last[key] = max(last.get(key, -1), message.offset() or 0)
    return [
        TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()
    ]
