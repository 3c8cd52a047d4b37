"""The sink stops on SIGTERM while its broker is gone: a rollout or a scale-down during a broker
outage must not leave the pod to be killed after its grace period. Its offsets stay where the
last committed batch left them (uncommitted work is read again by the next owner)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import provision_contract_topics
from tests.cli.test_sink_health import REPO, SINK, readyz
from tests.connectors.salesforce.harness import wait_until
from tests.connectors.telemetry.test_health import free_port
from tests.support.private_broker import PrivateBroker

GRACE = 20.0  # seconds: well inside Kubernetes' default terminationGracePeriodSeconds (30)


def test_given_the_broker_gone_when_the_sink_gets_sigterm_then_it_exits_within_the_grace(
    tmp_path: Path,
) -> None:
    broker = PrivateBroker()
    try:
        broker.start()
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap, topic_prefix="stop.")
        provision_contract_topics(kafka)
        port = free_port()
        env = os.environ | {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "KAFKA_TOPIC_PREFIX": "stop.",
            "GATHER_DATABASE_URL": f"sqlite:///{tmp_path}/gather.db",
            "SINK_GROUP_ID": f"stop-sink-{uuid.uuid4().hex[:8]}",
            "METRICS_PORT": str(port),
            "METRICS_HOST": "127.0.0.1",
        }
        with (tmp_path / "sink.log").open("ab") as log:
            process = subprocess.Popen(SINK, cwd=REPO, env=env, stdout=log, stderr=log)
        assert wait_until(lambda: readyz(port)[0] == 200, 60), (tmp_path / "sink.log").read_text()
        broker.stop()
        time.sleep(2)  # the sink notices: its polls and heartbeats fail

        asked = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            code = None
        took = time.monotonic() - asked
    finally:
        broker.close()

    log_text = (tmp_path / "sink.log").read_text()
    assert code == 0, (code, log_text[-3000:])
    assert took < GRACE, (took, log_text[-3000:])
    assert "sink stopped" in log_text
