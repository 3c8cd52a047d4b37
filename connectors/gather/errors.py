"""The exceptions of the Gather store and sink."""


class StoreError(Exception):
    """Root of every error raised by `connectors.gather`."""


class MigrationError(StoreError):
    """The store's schema could not be brought to the version this code needs."""


class TransientError(StoreError):
    """A dependency (the database, the DLQ's broker) failed in a way no message caused; the sink
    retries the whole batch, offsets held. `reason` is a short label (failures.Verdict.reason)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
