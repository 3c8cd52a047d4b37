"""The exceptions of the Salesforce connector."""

from __future__ import annotations


class SalesforceConnectorError(Exception):
    """Root of every error raised by `connectors.salesforce`."""


class SecretUnavailable(SalesforceConnectorError):
    """A secret reference could not be resolved (variable unset, file unreadable)."""


class AuthenticationFailed(SalesforceConnectorError):
    """The org refused the credentials: a config problem, not a transient one."""


class NormalizeError(SalesforceConnectorError):
    """A CometD message could not be turned into changes; it goes to the DLQ."""


class SalesforceApiError(SalesforceConnectorError):
    """A REST or Bulk call failed; `decision` says what the caller should do about it."""

    def __init__(self, message: str, decision: str) -> None:
        super().__init__(message)
        self.decision = decision
