"""The exceptions of the Kafka client layer."""


class KafkaLayerError(Exception):
    """Root of every error raised by `connectors.kafka`."""


class TopicProvisionError(KafkaLayerError):
    """A topic could not be created or brought to its declared settings."""


class ReplayError(KafkaLayerError):
    """A replay cannot be planned or applied; the message names the fix."""


class GroupHasLiveMembersError(ReplayError):
    """Kafka changes a group's offsets only while the group has no members."""


class NothingToReplayError(ReplayError):
    """The group has no committed offsets on the topic (or the topic does not exist)."""


class ReplayTargetError(ReplayError):
    """The target offset or time lies outside what the partition holds."""


class LagCollectionError(KafkaLayerError):
    """The cluster could not be read for the lag report."""


class FreshnessUnavailableError(KafkaLayerError):
    """The lag report's freshness callable could not read the store."""
