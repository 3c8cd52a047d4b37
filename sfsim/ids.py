"""Salesforce record ids: a 3-character key prefix, a pod code, a base-62 counter, and the
3-character case-safe suffix that makes the 18-character form.
https://help.salesforce.com/s/articleView?id=000385008&type=1 (15- and 18-character ids)
"""

from __future__ import annotations

import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX_ALPHABET = string.ascii_uppercase + "012345"
POD = "Dn"
# The record id Salesforce puts in a GAP_OVERFLOW event's recordIds.
OVERFLOW_RECORD_ID = "000000000000000AAA"


def checksum_suffix(id15: str) -> str:
    """Each 5-character chunk maps to one letter: bit i set when character i is upper case."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if ch.isupper())
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def to_18(record_id: str) -> str:
    return record_id if len(record_id) == 18 else record_id + checksum_suffix(record_id)


def make_id(key_prefix: str, counter: int) -> str:
    digits = ""
    while counter:
        counter, rest = divmod(counter, 62)
        digits = _BASE62[rest] + digits
    return to_18(f"{key_prefix}{POD}{digits.rjust(10, '0')}")


def is_valid_id(record_id: str) -> bool:
    if len(record_id) not in (15, 18) or not record_id.isalnum():
        return False
    return len(record_id) == 15 or checksum_suffix(record_id[:15]) == record_id[15:]
