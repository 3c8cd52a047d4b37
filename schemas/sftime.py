"""Salesforce's datetime texts, read one way everywhere.

REST writes `2026-11-28T12:00:00.000+0000`, change events `2026-11-28T12:00:00.000Z`, and
SOQL and users write `2026-11-28T12:00:00Z` or `+01:00`. All are instants with a zone.
"""

from __future__ import annotations

from datetime import datetime


def parse_sf_datetime(text: str) -> datetime:
    """Any of those forms -> an aware datetime; a text without a zone is an error."""
    normalized = text.replace("Z", "+00:00")
    if len(normalized) > 5 and normalized[-5] in "+-" and normalized[-3] != ":":
        normalized = normalized[:-2] + ":" + normalized[-2:]  # +0000 -> +00:00
    parsed = datetime.fromisoformat(normalized)
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return parsed
