"""The exceptions of the contracts package: one root, one subclass per kind of failure."""

from __future__ import annotations

from dataclasses import dataclass


class SchemaError(Exception):
    """Root of every error raised by `schemas`."""


@dataclass(frozen=True)
class ConfigIssue:
    """One thing wrong in a tenant config: where (a dotted path) and what to do about it."""

    tenant: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"tenant '{self.tenant}': {self.path}: {self.message}"


class ConfigError(SchemaError):
    """A tenant config was refused; `issues` lists every problem found, not just the first."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        lines = "\n".join(f"  {issue}" for issue in issues)
        super().__init__(f"{source}: invalid tenant config ({len(issues)} problem(s)):\n{lines}")
