"""The exceptions of the Kafka client layer."""


class KafkaLayerError(Exception):
    """Root of every error raised by `connectors.kafka`."""


class TopicProvisionError(KafkaLayerError):
    """A topic could not be created or brought to its declared settings."""
