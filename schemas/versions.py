"""Versions order every field value; merging keeps the value with the highest version.

A CDC event's version is (commitTimestamp, commitNumber, sequence): commitNumber orders commits
that share a millisecond and the sequence orders changes inside one transaction. A REST or Bulk
snapshot has only `SystemModstamp`, so it gets (SystemModstamp, 0, 0): it loses a tie against the
CDC event of the same commit, which carries the same values anyway.
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Version(BaseModel):
    """Totally ordered version of one field value (or of a delete tombstone)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    commit_ts: int = Field(ge=0, description="commit time, epoch milliseconds")
    commit_number: int = Field(
        default=0, ge=0, description="Salesforce commitNumber, 0 for a snapshot"
    )
    sequence: int = Field(default=0, ge=0, description="order inside one transaction")

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.commit_ts, self.commit_number, self.sequence)

    def __lt__(self, other: Version) -> bool:
        return self.as_tuple() < other.as_tuple()

    def __le__(self, other: Version) -> bool:
        return self.as_tuple() <= other.as_tuple()

    def __gt__(self, other: Version) -> bool:
        return self.as_tuple() > other.as_tuple()

    def __ge__(self, other: Version) -> bool:
        return self.as_tuple() >= other.as_tuple()

    def encode(self) -> str:
        """Fixed-width text whose string order is the version order (stored per trait in the DB)."""
        # 15, 20 and 10 digits; one f-string, since the sink encodes every trait version it reads
        return f"{self.commit_ts:015d}.{self.commit_number:020d}.{self.sequence:010d}"

    @classmethod
    def decode(cls, text: str) -> Version:
        ts, number, seq = (int(part) for part in text.split("."))
        return cls(commit_ts=ts, commit_number=number, sequence=seq)
