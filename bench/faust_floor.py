"""The Faust worker's floor: a Faust app doing only what the bare aiokafka loop does (parse each
change with pydantic, send one message of its size), the way the worker does it (a batch of
WORKER_BATCH_SIZE events from `take_events`, every send of the batch acknowledged before the
batch's events are), and, with FLOOR_TABLE=1, one table write per change (a state and its
changelog record, as the worker keeps each record's state). No rule, no merge, no state read.

Its rate against the bare loop of the same run is the most a Faust worker can reach here: what
the worker's rules add comes on top. Started by `python -m bench.pipeline --only floor`:

    python -m faust -A bench.faust_floor worker -l warn --without-web

Settings (environment): FLOOR_SOURCE and FLOOR_TARGET (topics), FLOOR_TABLE (1: keep a table),
WORKER_APP_ID, WORKER_DATADIR, WORKER_BATCH_SIZE, WORKER_BATCH_SECONDS, KAFKA_PARTITIONS,
KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import faust

from schemas.changes import SalesforceChange
from streams import faust_metadata, faust_spinner
from streams.faust_fixes import writing_for
from streams.settings import WorkerSettings

_settings = WorkerSettings()
_servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092").split(",")

app = faust.App(
    f"{_settings.app_id}-floor",
    broker=[f"kafka://{server}" for server in _servers],
    store="memory://",
    topic_partitions=int(os.environ.get("KAFKA_PARTITIONS", "6")),  # the table's, as the source's
    key_serializer="raw",
    value_serializer="raw",
    datadir=_settings.datadir,
    web_enabled=False,
    producer_acks=-1,
    broker_commit_interval=_settings.commit_interval,
)
app.producer.buffer.max_messages = 4 * _settings.batch_size  # as streams/app.py sets it
faust_spinner.install()  # as the worker: no debug log records built for a terminal spinner
faust_metadata.install()  # as the worker: metadata of its own topics only
source = app.topic(os.environ["FLOOR_SOURCE"], key_serializer="raw", value_serializer="raw")
target = app.topic(os.environ["FLOOR_TARGET"], key_serializer="raw", value_serializer="raw")
keep_table = os.environ.get("FLOOR_TABLE") == "1"
states = app.Table("floor-states", key_type=bytes, value_type=bytes) if keep_table else None
_registered = app.tables.wait_until_tables_registered


async def _registered_and_a_moment() -> None:
    """faust's conductor subscribes once its agents have started and its tables registered,
    but an agent's topic is added when its actor first iterates, a moment later; added while the
    group is still rebalancing, the change is dropped (`Conductor._subscriber` clears it) and the
    app sat without its source (two of three starts here). A second lets the actor get there."""
    await _registered()
    await asyncio.sleep(1.0)


app.tables.wait_until_tables_registered = _registered_and_a_moment  # type: ignore[method-assign]


@app.agent(source)
async def floor(stream: Any) -> None:
    size, within = _settings.batch_size, _settings.batch_seconds
    async for events in stream.take_events(size, within=within):
        sends = []
        for event in events:
            value = event.value
            SalesforceChange.model_validate_json(value)
            if states is not None:
                with writing_for(event):  # as the worker: the event's changelog partition
                    states[event.key] = value
            sends.append(await target.send(key=event.key, value=bytes(len(value))))
        await asyncio.gather(*sends)
        for event in events:
            event.ack()  # as the worker's `handled`: take_events leaves them unacknowledged
