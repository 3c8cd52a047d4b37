"""Whose fault a Kafka failure is: the cluster's for now (wait and retry), one message's (DLQ),
the deployment's (fix the config) or the client's (start a new one).

Pure: `classify` looks only at the error. Both clients are covered: confluent-kafka
(`KafkaError`, `KafkaException`, `BufferError` for a full local queue) used by the listener, the
sink and the commands, and aiokafka (its exception classes) under the Faust worker.

A stage holds its batch and offsets for as long as a failure is transient, so nothing valid is
dead-lettered because a broker restarted or a leader moved. Only a message the broker refuses on
its own merit (too large, corrupt) goes to a DLQ.

Error codes: https://kafka.apache.org/protocol#protocol_error_codes and librdkafka's
`rd_kafka_resp_err_t` (the negative, underscored ones are the client's own).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from connectors.kafka.errors import KafkaLayerError


class KafkaFailure(StrEnum):
    TRANSIENT = "transient"  # the cluster or the network, for now: retry, offsets held
    BAD_MESSAGE = "bad_message"  # this message, whatever the cluster does: dead-letter it
    CONFIG = "config"  # credentials, ACLs or settings: retrying cannot help, an operator must
    FATAL = "fatal"  # this client instance is unusable: stop it and start a new one


@dataclass(frozen=True)
class KafkaVerdict:
    failure: KafkaFailure
    reason: str  # the error's name, for logs and the retries metric's `reason`

    @property
    def transient(self) -> bool:
        return self.failure is KafkaFailure.TRANSIENT


# Names are librdkafka's (confluent-kafka `KafkaError.name()`); aiokafka's classes map onto them
# in `_AIOKAFKA` below. Codes not listed fall back on the client's own retriable/fatal flags.
_CODES: dict[str, KafkaFailure] = {
    # The broker is unreachable, restarting or slow: connections refused or reset, no broker up,
    # a request or the delivery timeout elapsed. The same request works once it is back.
    "_TRANSPORT": KafkaFailure.TRANSIENT,
    "_ALL_BROKERS_DOWN": KafkaFailure.TRANSIENT,
    "_RESOLVE": KafkaFailure.TRANSIENT,
    "_TIMED_OUT": KafkaFailure.TRANSIENT,
    "_MSG_TIMED_OUT": KafkaFailure.TRANSIENT,
    "REQUEST_TIMED_OUT": KafkaFailure.TRANSIENT,
    "NETWORK_EXCEPTION": KafkaFailure.TRANSIENT,
    # The local send queue is full: the broker is slower than we produce; wait for it to drain.
    "_QUEUE_FULL": KafkaFailure.TRANSIENT,
    # Leadership is moving (a broker restarted or a partition was reassigned): the metadata
    # refresh that follows finds the new leader.
    "NOT_LEADER_FOR_PARTITION": KafkaFailure.TRANSIENT,
    "LEADER_NOT_AVAILABLE": KafkaFailure.TRANSIENT,
    "REPLICA_NOT_AVAILABLE": KafkaFailure.TRANSIENT,
    "NOT_ENOUGH_REPLICAS": KafkaFailure.TRANSIENT,
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND": KafkaFailure.TRANSIENT,
    "KAFKA_STORAGE_ERROR": KafkaFailure.TRANSIENT,
    # A restarted broker answers for a moment before it has loaded its partitions' metadata; a
    # topic being created is not yet known everywhere. Our topics are provisioned before use, so
    # an unknown one is a matter of seconds.
    "UNKNOWN_TOPIC_OR_PART": KafkaFailure.TRANSIENT,
    "_UNKNOWN_PARTITION": KafkaFailure.TRANSIENT,
    # The group coordinator moved, is loading its offsets, or is not elected yet: the commit or
    # join is sent again to the coordinator found next.
    "NOT_COORDINATOR": KafkaFailure.TRANSIENT,
    "COORDINATOR_NOT_AVAILABLE": KafkaFailure.TRANSIENT,
    "COORDINATOR_LOAD_IN_PROGRESS": KafkaFailure.TRANSIENT,
    "_WAIT_COORD": KafkaFailure.TRANSIENT,
    # The group is rebalancing or has moved on to a new generation: this commit is refused, the
    # records are read again by whoever owns the partition next (the writes are idempotent).
    "REBALANCE_IN_PROGRESS": KafkaFailure.TRANSIENT,
    "ILLEGAL_GENERATION": KafkaFailure.TRANSIENT,
    "UNKNOWN_MEMBER_ID": KafkaFailure.TRANSIENT,
    "UNSTABLE_OFFSET_COMMIT": KafkaFailure.TRANSIENT,
    # Broker quotas throttle us; waiting is what the broker asks for.
    "THROTTLING_QUOTA_EXCEEDED": KafkaFailure.TRANSIENT,
    # The broker refuses this record itself: larger than message.max.bytes, or corrupt. Sending
    # it again gives the same answer, so it goes to the DLQ with this reason.
    "MSG_SIZE_TOO_LARGE": KafkaFailure.BAD_MESSAGE,
    "RECORD_LIST_TOO_LARGE": KafkaFailure.BAD_MESSAGE,
    "INVALID_RECORD": KafkaFailure.BAD_MESSAGE,
    "INVALID_MSG_SIZE": KafkaFailure.BAD_MESSAGE,
    "INVALID_MSG": KafkaFailure.BAD_MESSAGE,
    # Credentials, ACLs and TLS are the deployment's: no retry fixes them, the log must say so.
    "TOPIC_AUTHORIZATION_FAILED": KafkaFailure.CONFIG,
    "GROUP_AUTHORIZATION_FAILED": KafkaFailure.CONFIG,
    "CLUSTER_AUTHORIZATION_FAILED": KafkaFailure.CONFIG,
    "SASL_AUTHENTICATION_FAILED": KafkaFailure.CONFIG,
    "_AUTHENTICATION": KafkaFailure.CONFIG,
    "_SSL": KafkaFailure.CONFIG,
    "INVALID_CONFIG": KafkaFailure.CONFIG,
    # The idempotent producer was fenced or lost its sequence: librdkafka raises a fatal error
    # and the instance can send nothing more; a new producer starts a new sequence.
    "_FATAL": KafkaFailure.FATAL,
    "PRODUCER_FENCED": KafkaFailure.FATAL,
    "INVALID_PRODUCER_EPOCH": KafkaFailure.FATAL,
    "OUT_OF_ORDER_SEQUENCE_NUMBER": KafkaFailure.FATAL,
}

# aiokafka's exception classes (the Faust worker's client) under librdkafka's names.
_AIOKAFKA = {
    "KafkaConnectionError": "_TRANSPORT",
    "NodeNotReadyError": "_TRANSPORT",
    "KafkaUnavailableError": "_ALL_BROKERS_DOWN",
    "BrokerNotAvailableError": "_ALL_BROKERS_DOWN",
    "KafkaTimeoutError": "_TIMED_OUT",
    "RequestTimedOutError": "REQUEST_TIMED_OUT",
    "NotLeaderForPartitionError": "NOT_LEADER_FOR_PARTITION",
    "LeaderNotAvailableError": "LEADER_NOT_AVAILABLE",
    "ReplicaNotAvailableError": "REPLICA_NOT_AVAILABLE",
    "NotEnoughReplicasError": "NOT_ENOUGH_REPLICAS",
    "NotEnoughReplicasAfterAppendError": "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    "KafkaStorageError": "KAFKA_STORAGE_ERROR",
    "UnknownTopicOrPartitionError": "UNKNOWN_TOPIC_OR_PART",
    "NotCoordinatorForGroupError": "NOT_COORDINATOR",
    "NotCoordinatorError": "NOT_COORDINATOR",
    "GroupCoordinatorNotAvailableError": "COORDINATOR_NOT_AVAILABLE",
    "CoordinatorNotAvailableError": "COORDINATOR_NOT_AVAILABLE",
    "GroupLoadInProgressError": "COORDINATOR_LOAD_IN_PROGRESS",
    "CoordinatorLoadInProgressError": "COORDINATOR_LOAD_IN_PROGRESS",
    "RebalanceInProgressError": "REBALANCE_IN_PROGRESS",
    "IllegalGenerationError": "ILLEGAL_GENERATION",
    "UnknownMemberIdError": "UNKNOWN_MEMBER_ID",
    "CommitFailedError": "REBALANCE_IN_PROGRESS",
    "MessageSizeTooLargeError": "MSG_SIZE_TOO_LARGE",
    "RecordTooLargeError": "MSG_SIZE_TOO_LARGE",
    "RecordListTooLargeError": "RECORD_LIST_TOO_LARGE",
    "InvalidMessageError": "INVALID_MSG",
    "TopicAuthorizationFailedError": "TOPIC_AUTHORIZATION_FAILED",
    "GroupAuthorizationFailedError": "GROUP_AUTHORIZATION_FAILED",
    "ClusterAuthorizationFailedError": "CLUSTER_AUTHORIZATION_FAILED",
    "AuthenticationFailedError": "SASL_AUTHENTICATION_FAILED",
    "KafkaConfigurationError": "INVALID_CONFIG",
}


def classify_code(name: str, retriable: bool = False, fatal: bool = False) -> KafkaVerdict:
    """By the error's name first; an unlisted code by the client's own flags."""
    if name in _CODES:
        return KafkaVerdict(_CODES[name], name)
    if fatal:
        return KafkaVerdict(KafkaFailure.FATAL, name)
    # Unlisted and not flagged fatal, retriable or not: held and retried, logged on every
    # attempt. Holding a valid message an operator can see is recoverable; dead-letter is loss.
    return KafkaVerdict(KafkaFailure.TRANSIENT, name if retriable else f"unlisted:{name}")


def classify(error: BaseException | KafkaError) -> KafkaVerdict:
    """The verdict on anything a Kafka call raised or a delivery report carried."""
    if isinstance(error, KafkaError):
        return classify_code(error.name(), error.retriable(), error.fatal())
    if isinstance(error, KafkaException) and isinstance(_first(error), KafkaError):
        return classify(_first(error))
    if isinstance(error, KafkaLayerError) and error.__cause__ is not None:
        return classify(error.__cause__)  # ours, wrapping the client's error that decides
    if isinstance(error, BufferError):
        return classify_code("_QUEUE_FULL")
    name = type(error).__name__
    if name in _AIOKAFKA:
        return classify_code(_AIOKAFKA[name])
    if getattr(error, "retriable", False) or isinstance(error, OSError | TimeoutError):
        # aiokafka flags its other retriable errors; sockets and timeouts are the network's.
        return KafkaVerdict(KafkaFailure.TRANSIENT, name)
    if isinstance(error, KafkaException) or type(error).__module__.startswith("aiokafka"):
        return classify_code(name)
    if not isinstance(error, Exception):
        # Cancelled: the client is stopping. The work is redone by whoever resumes it.
        return KafkaVerdict(KafkaFailure.TRANSIENT, name)
    # Not a Kafka error at all (a value we could not encode): the message's own.
    return KafkaVerdict(KafkaFailure.BAD_MESSAGE, name)


def _first(error: KafkaException) -> Any:
    return error.args[0] if error.args else None
