"""The commands' publisher against a broker that is unreachable for longer than a delivery may
wait: a backfill holds where it is and sends again, it does not end with sends failed."""

from __future__ import annotations

import threading
import uuid

from confluent_kafka.admin import AdminClient, NewTopic

from cli.kafka_io import SyncPublisher
from connectors.kafka.settings import KafkaSettings
from tests.connectors.salesforce.harness import ChangesReader, wait_until
from tests.support.forward import Forward

MESSAGES = 20


def a_topic(kafka: KafkaSettings) -> str:
    name = f"publisher-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(kafka.admin_config())
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(timeout=30)
    return name


def read(reader: ChangesReader) -> int:
    reader.poll_for(0.5)
    return len(reader.messages)


def test_given_the_broker_unreachable_past_the_delivery_timeout_then_each_send_is_sent_again(
    kafka_settings: KafkaSettings,
) -> None:
    topic = a_topic(kafka_settings)
    broker_port = int(kafka_settings.bootstrap_servers.rsplit(":", 1)[1])
    with Forward(broker_port) as gate:  # refuses connections until opened
        away = KafkaSettings(bootstrap_servers=f"127.0.0.1:{gate.port}")
        publisher = SyncPublisher(away.producer_config() | {"message.timeout.ms": 1000})
        for n in range(MESSAGES):
            publisher.send(topic, f"k{n}", f"v{n}".encode())
        undelivered: list[int] = []
        closing = threading.Thread(target=lambda: undelivered.append(publisher.close()))
        closing.start()
        assert wait_until(lambda: publisher.resent >= 2 * MESSAGES, timeout=60, step=0.2)
        gate.open()
        closing.join(timeout=60)

    assert undelivered == [0]
    assert (publisher.acknowledged, publisher.failed) == (MESSAGES, [])
    reader = ChangesReader(kafka_settings, topic)
    assert wait_until(lambda: read(reader) >= MESSAGES, timeout=30)
    assert {key for key, _ in reader.messages} == {f"k{n}" for n in range(MESSAGES)}
