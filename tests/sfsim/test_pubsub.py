"""sfsim's Pub/Sub API through a real gRPC client over TLS: subscribe, flow control, replay
presets, keepalives, and Salesforce's errors (an expired session, an invalid replay id, a
dropped stream). The events' Avro is read with fastavro and their header bitmaps with the
listener's decoder, which is separate code from sfsim's encoder: the names both must agree on
come from the CometD form of the same event."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import fastavro
import grpc
import pytest

from connectors.salesforce.pubsub.bitmap import SchemaIndex, field_names
from schemas.pubsub import pubsub_api_pb2 as pb
from schemas.pubsub import pubsub_api_pb2_grpc as pb_grpc
from sfsim.testing import ThreadedSfsim

T = TypeVar("T")
ACCOUNTS = "/data/AccountChangeEvent"


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedSfsim]:
    """An org whose idle Subscribe streams get a keepalive after one second."""
    with ThreadedSfsim(tmp_path_factory.mktemp("pubsub"), pubsub_keepalive_s=1.0) as server:
        yield server


def access_token(org: ThreadedSfsim) -> str:
    """A session of the org's connected app (its client-credentials flow)."""
    c = org.credentials
    return org.call(
        lambda: org.state.identity.client_credentials(c.client_id, c.client_secret).token
    )


def run(
    org: ThreadedSfsim, scenario: Callable[[Any, tuple[tuple[str, str], ...]], Awaitable[T]]
) -> T:
    """`scenario(stub, metadata)` with a fresh channel and a live session's metadata."""
    metadata = (("accesstoken", access_token(org)), ("instanceurl", org.url), ("tenantid", "00D"))

    async def main() -> T:
        credentials = grpc.ssl_channel_credentials(Path(org.credentials.ca).read_bytes())
        async with grpc.aio.secure_channel(org.credentials.pubsub, credentials) as channel:
            stub = pb_grpc.PubSubStub(channel)  # type: ignore[no-untyped-call]
            return await scenario(stub, metadata)

    return asyncio.run(main())


def fetch(**fields: Any) -> Any:
    values: dict[str, Any] = {"topic_name": ACCOUNTS, "num_requested": 10} | fields
    return pb.FetchRequest(**values)


async def requests_of(*items: Any) -> AsyncIterator[Any]:
    for item in items:
        yield item
    await asyncio.sleep(3600)  # a client keeps its side of the stream open


async def responses(stub: Any, metadata: Any, count: int, *asks: Any) -> list[Any]:
    call = stub.Subscribe(requests_of(*asks), metadata=metadata)
    got = []
    async for response in call:
        got.append(response)
        if len(got) == count:
            break
    call.cancel()
    return got


def make_accounts(org: ThreadedSfsim, names: list[str]) -> list[str]:
    return org.call(lambda: [org.state.org.create("Account", {"Name": n}) for n in names])


def decoded(schema: dict[str, Any], event: Any) -> dict[str, Any]:
    record = fastavro.schemaless_reader(
        io.BytesIO(event.event.payload), fastavro.parse_schema(schema)
    )
    assert isinstance(record, dict)
    return record


def test_given_a_topic_when_its_schema_is_read_then_the_header_comes_first_and_the_fields_follow(
    org: ThreadedSfsim,
) -> None:
    async def scenario(stub: Any, metadata: Any) -> tuple[Any, Any]:
        topic = await stub.GetTopic(pb.TopicRequest(topic_name=ACCOUNTS), metadata=metadata)
        schema = await stub.GetSchema(
            pb.SchemaRequest(schema_id=topic.schema_id), metadata=metadata
        )
        return topic, schema

    topic, info = run(org, scenario)
    schema = json.loads(info.schema_json)

    assert (topic.can_subscribe, topic.can_publish, info.schema_id) == (
        True,
        False,
        topic.schema_id,
    )
    assert [f["name"] for f in schema["fields"]][:2] == ["ChangeEventHeader", "CreatedDate"]
    billing = next(f for f in schema["fields"] if f["name"] == "BillingAddress")
    assert [c["name"] for c in billing["type"][1]["fields"]][:2] == ["Street", "City"]


def test_given_events_retained_when_subscribing_from_earliest_then_no_more_than_requested_come(
    org: ThreadedSfsim,
) -> None:
    make_accounts(org, [f"Early {i}" for i in range(5)])

    got = run(
        org,
        lambda stub, md: responses(
            stub, md, 1, fetch(replay_preset=pb.ReplayPreset.EARLIEST, num_requested=3)
        ),
    )

    assert len(got[0].events) == 3
    assert got[0].pending_num_requested == 0
    assert got[0].latest_replay_id == got[0].events[-1].replay_id


def test_given_latest_when_an_account_is_made_after_then_only_it_comes(org: ThreadedSfsim) -> None:
    make_accounts(org, ["Before latest"])

    async def scenario(stub: Any, metadata: Any) -> list[Any]:
        call = stub.Subscribe(requests_of(fetch()), metadata=metadata)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(make_accounts, org, ["After latest"])
        async for response in call:
            if response.events:
                call.cancel()
                return list(response.events)
        return []

    events = run(org, scenario)
    schema = _schema(org)

    assert [decoded(schema, e)["Name"] for e in events] == ["After latest"]


def test_given_a_stored_replay_id_when_subscribing_custom_then_the_events_after_it_come(
    org: ThreadedSfsim,
) -> None:
    make_accounts(org, ["Custom 1", "Custom 2", "Custom 3"])
    first = run(
        org,
        lambda s, md: responses(
            s, md, 1, fetch(replay_preset=pb.ReplayPreset.EARLIEST, num_requested=100)
        ),
    )[0]
    names = [decoded(_schema(org), e)["Name"] for e in first.events]
    stored = first.events[names.index("Custom 1")].replay_id

    again = run(
        org,
        lambda s, md: responses(
            s, md, 1, fetch(replay_preset=pb.ReplayPreset.CUSTOM, replay_id=stored)
        ),
    )[0]

    assert [decoded(_schema(org), e)["Name"] for e in again.events][:2] == ["Custom 2", "Custom 3"]


def test_given_an_update_when_received_then_its_bitmaps_name_what_the_cometd_event_names(
    org: ThreadedSfsim,
) -> None:
    created = {"Name": "Bitmaps", "Phone": "555-0100"}
    record_id = org.call(lambda: org.state.org.create("Account", created))
    org.call(
        lambda: org.state.org.update(
            "Account",
            record_id,
            {"Phone": None, "BillingCity": "Lyon", "Website": "https://x.test"},
        )
    )
    cometd = org.call(lambda: org.state.log.after(org.state.log.last_replay_id - 1, ACCOUNTS, 1))[0]
    schema = _schema(org)

    got = run(
        org,
        lambda s, md: responses(
            s,
            md,
            1,
            fetch(
                replay_preset=pb.ReplayPreset.CUSTOM,
                replay_id=(cometd.replay_id - 1).to_bytes(10, "big"),
            ),
        ),
    )[0]
    event = decoded(schema, got.events[0])
    header = event["ChangeEventHeader"]

    assert field_names(header["changedFields"], SchemaIndex.of(schema)) == _order(
        schema, cometd.data["payload"]["ChangeEventHeader"]["changedFields"]
    )
    assert field_names(header["nulledFields"], SchemaIndex.of(schema)) == ["Phone"]
    assert (event["Phone"], event["Website"], event["BillingAddress"]["City"], event["Name"]) == (
        None,
        "https://x.test",
        "Lyon",
        None,
    )


def test_given_no_events_when_idle_then_an_empty_keepalive_carries_the_latest_replay_id(
    org: ThreadedSfsim,
) -> None:
    got = run(org, lambda s, md: responses(s, md, 1, fetch()))[0]
    latest = org.call(lambda: org.state.log.last_replay_id)

    assert (list(got.events), int.from_bytes(got.latest_replay_id, "big")) == ([], latest)
    assert got.pending_num_requested == 10


def test_given_more_than_100_requested_when_asked_in_two_requests_then_100_are_pending(
    org: ThreadedSfsim,
) -> None:
    got = run(
        org, lambda s, md: responses(s, md, 2, fetch(num_requested=70), fetch(num_requested=70))
    )

    assert got[-1].pending_num_requested == 100


@pytest.mark.parametrize(
    ("ask", "status", "code"),
    [
        (
            fetch(replay_preset=pb.ReplayPreset.CUSTOM, replay_id=(10**9).to_bytes(10, "big")),
            grpc.StatusCode.INVALID_ARGUMENT,
            "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted",
        ),
        (
            fetch(replay_preset=pb.ReplayPreset.CUSTOM),
            grpc.StatusCode.INVALID_ARGUMENT,
            "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed",
        ),
        (
            fetch(num_requested=0),
            grpc.StatusCode.INVALID_ARGUMENT,
            "sfdc.platform.eventbus.grpc.subscription.fetch.requested.events.invalid",
        ),
        (
            fetch(topic_name="/data/NoSuchChangeEvent"),
            grpc.StatusCode.NOT_FOUND,
            "sfdc.platform.eventbus.grpc.topic.not.found",
        ),
    ],
)
def test_given_a_bad_fetch_request_when_subscribing_then_salesforces_status_and_error_code_come(
    org: ThreadedSfsim, ask: Any, status: grpc.StatusCode, code: str
) -> None:
    error = run(org, lambda s, md: _error(responses(s, md, 1, ask)))

    assert (error.code(), _trailer(error, "error-code")) == (status, code)


def test_given_an_expired_session_when_subscribing_then_it_is_unauthenticated(
    org: ThreadedSfsim,
) -> None:
    async def scenario(stub: Any, metadata: Any) -> grpc.aio.AioRpcError:
        await asyncio.to_thread(org.call, org.state.identity.expire_all)
        return await _error(responses(stub, metadata, 1, fetch()))

    error = run(org, scenario)

    assert error.code() is grpc.StatusCode.UNAUTHENTICATED
    assert error.details().startswith("An authentication exception occurred.")
    assert _trailer(error, "error-code") == "sfdc.platform.eventbus.grpc.service.auth.error"


def test_given_a_dropped_stream_fault_when_subscribed_then_the_stream_ends_unavailable(
    org: ThreadedSfsim,
) -> None:
    org.admin("faults", {"drop_connects": 1})

    error = run(org, lambda s, md: _error(responses(s, md, 1, fetch())))

    assert error.code() is grpc.StatusCode.UNAVAILABLE


async def _error(work: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await work
    return raised.value


def _trailer(error: grpc.aio.AioRpcError, key: str) -> str | None:
    return dict(error.trailing_metadata() or ()).get(key)


def _schema(org: ThreadedSfsim) -> dict[str, Any]:
    async def scenario(stub: Any, metadata: Any) -> dict[str, Any]:
        topic = await stub.GetTopic(pb.TopicRequest(topic_name=ACCOUNTS), metadata=metadata)
        info = await stub.GetSchema(pb.SchemaRequest(schema_id=topic.schema_id), metadata=metadata)
        return dict(json.loads(info.schema_json))

    return run(org, scenario)


def _order(schema: dict[str, Any], names: list[str]) -> list[str]:
    """CometD's names in the decoder's order: top-level fields by position, then children."""
    position = {f["name"]: i for i, f in enumerate(schema["fields"])}
    top = sorted((n for n in names if "." not in n), key=position.__getitem__)
    return top + sorted((n for n in names if "." in n), key=lambda n: position[n.split(".")[0]])
