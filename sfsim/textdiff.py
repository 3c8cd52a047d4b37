"""Large text values sent as a unified diff in an UPDATE's change event, when Salesforce would.

From the CDC guide ("Sending Data Differences for Fields of Updated Records"): for large text
fields (Description, Long Text Area) only the difference may be sent, as `--- \\n+++ <SHA-256 of
the new value>\\n` and the hunks, computed per line. The whole value is sent instead when
- the value is under 1,000 characters,
- old and new lengths differ by more than 50%,
- more than 25% of the lines of old and new together changed, or
- the diff is longer than the new value.
CometD carries it as `{"diff": "..."}` in place of the value; Pub/Sub as the text, with the field
named in `diffFields`.
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_data_diff.htm
"""

from __future__ import annotations

import difflib
import hashlib

MIN_LENGTH = 1_000
MAX_LENGTH_CHANGE = 0.5
MAX_LINES_CHANGED = 0.25


def diff_value(old: object, new: object) -> str | None:
    """The diff Salesforce would send for `old` -> `new`, or None when it sends the value."""
    if not isinstance(old, str) or not isinstance(new, str) or len(new) < MIN_LENGTH:
        return None
    if abs(len(new) - len(old)) > MAX_LENGTH_CHANGE * len(old):
        return None
    before, after = old.split("\n"), new.split("\n")
    hunks = list(difflib.unified_diff(before, after, n=0, lineterm=""))[2:]
    changed = sum(1 for line in hunks if line[:1] in ("-", "+"))
    if changed > MAX_LINES_CHANGED * (len(before) + len(after)):
        return None
    value = f"--- \n+++ {hashlib.sha256(new.encode()).hexdigest()}\n" + "\n".join(hunks)
    return value if len(value) <= len(new) else None
