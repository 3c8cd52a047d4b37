"""The exceptions of the Gather store and sink."""


class StoreError(Exception):
    """Root of every error raised by `connectors.gather`."""


class MigrationError(StoreError):
    """The store's schema could not be brought to the version this code needs."""
