"""The Kafka failure classifier, as a table: each row is an error a stage has met or can meet."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import errors as aio
from confluent_kafka import KafkaError, KafkaException

from connectors.kafka.errors import TopicProvisionError
from connectors.kafka.failures import KafkaFailure, classify, classify_code

T, BAD, CONFIG, FATAL = (
    KafkaFailure.TRANSIENT,
    KafkaFailure.BAD_MESSAGE,
    KafkaFailure.CONFIG,
    KafkaFailure.FATAL,
)

CONFLUENT = [
    # broker restart: connections refused, then a broker answering before it leads anything
    (KafkaError._TRANSPORT, T),
    (KafkaError._ALL_BROKERS_DOWN, T),
    (KafkaError.NOT_LEADER_FOR_PARTITION, T),
    (KafkaError.LEADER_NOT_AVAILABLE, T),
    (KafkaError.UNKNOWN_TOPIC_OR_PART, T),
    # the sink's commit during a restart (recon: _WAIT_COORD; issue: NOT_COORDINATOR)
    (KafkaError._WAIT_COORD, T),
    (KafkaError.NOT_COORDINATOR, T),
    (KafkaError.COORDINATOR_LOAD_IN_PROGRESS, T),
    (KafkaError.REBALANCE_IN_PROGRESS, T),
    (KafkaError.ILLEGAL_GENERATION, T),
    # a delivery that waited out message.timeout.ms, a full local queue
    (KafkaError._MSG_TIMED_OUT, T),
    (KafkaError.REQUEST_TIMED_OUT, T),
    (KafkaError._QUEUE_FULL, T),
    # refused on its own merit
    (KafkaError.MSG_SIZE_TOO_LARGE, BAD),
    (KafkaError.INVALID_MSG, BAD),
    # the deployment's to fix
    (KafkaError.TOPIC_AUTHORIZATION_FAILED, CONFIG),
    (KafkaError.SASL_AUTHENTICATION_FAILED, CONFIG),
    (KafkaError._SSL, CONFIG),
    # the idempotent producer is done for
    (KafkaError._FATAL, FATAL),
    (KafkaError.PRODUCER_FENCED, FATAL),
]


@pytest.mark.parametrize(("code", "expected"), CONFLUENT)
def test_given_a_librdkafka_error_when_classified_then_the_table_holds(
    code: int, expected: KafkaFailure
) -> None:
    error = KafkaError(code)
    assert classify(error).failure is expected
    assert classify(KafkaException(error)).failure is expected


AIOKAFKA = [
    (aio.KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9092)]"), T),
    (aio.NodeNotReadyError(), T),
    (aio.KafkaTimeoutError(), T),
    (aio.RequestTimedOutError(), T),
    (aio.NotLeaderForPartitionError(), T),
    (aio.GroupCoordinatorNotAvailableError(), T),
    (aio.NotCoordinatorForGroupError(), T),
    (aio.RebalanceInProgressError(), T),
    (aio.CommitFailedError(), T),
    (aio.UnknownTopicOrPartitionError(), T),
    (aio.MessageSizeTooLargeError(), BAD),
    (aio.RecordTooLargeError(), BAD),
    (aio.TopicAuthorizationFailedError(), CONFIG),
    # an aiokafka error this table does not name: held, never dead-lettered
    (aio.IllegalStateError(), T),
]


@pytest.mark.parametrize(("error", "expected"), AIOKAFKA)
def test_given_an_aiokafka_error_when_classified_then_the_table_holds(
    error: BaseException, expected: KafkaFailure
) -> None:
    assert classify(error).failure is expected


def test_given_a_full_local_queue_when_produce_raises_buffer_error_then_it_is_waited_out() -> None:
    assert classify(BufferError("Local: Queue full")) == classify_code("_QUEUE_FULL")


def test_given_network_errors_of_the_os_when_classified_then_they_are_transient() -> None:
    for error in (ConnectionRefusedError(), ConnectionResetError(), TimeoutError(), OSError()):
        assert classify(error).transient, error


def test_given_a_cancelled_send_when_classified_then_it_is_not_the_message_fault() -> None:
    assert classify(asyncio.CancelledError()).failure is T


def test_given_a_value_that_cannot_be_encoded_when_classified_then_it_is_the_message_fault() -> (
    None
):
    assert classify(TypeError("Object of type set is not JSON serializable")).failure is BAD


def test_given_an_unlisted_code_when_classified_then_it_is_held_and_named_as_unlisted() -> None:
    verdict = classify_code("SOMETHING_NEW")
    assert verdict.failure is T
    assert verdict.reason == "unlisted:SOMETHING_NEW"


def test_given_an_unlisted_code_flagged_fatal_when_classified_then_it_is_fatal() -> None:
    assert classify_code("SOMETHING_NEW", fatal=True).failure is FATAL


def test_given_our_error_wrapping_a_client_error_when_classified_then_the_cause_decides() -> None:
    def wrapped(code: int) -> TopicProvisionError:
        try:
            raise KafkaException(KafkaError(code))
        except KafkaException as e:
            try:
                raise TopicProvisionError("cannot create topic t") from e
            except TopicProvisionError as wrapper:
                return wrapper

    assert classify(wrapped(KafkaError._TIMED_OUT)).failure is T
    assert classify(wrapped(KafkaError.TOPIC_AUTHORIZATION_FAILED)).failure is CONFIG
