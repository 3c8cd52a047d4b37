"""When sfsim sends a large text as a diff, by the CDC guide's rules ("Sending Data Differences
for Fields of Updated Records"); the expected diffs are checked against the new value's SHA-256
and by applying their hunks with a small patcher of the test's own."""

from __future__ import annotations

import hashlib
import re

import pytest

from sfsim.textdiff import diff_value


def text(lines: int, width: int = 60, tag: str = "") -> str:
    return "\n".join(f"{tag}line {i:03d} " + "x" * width for i in range(lines))


def with_line(value: str, index: int, new: str) -> str:
    lines = value.split("\n")
    lines[index] = new
    return "\n".join(lines)


def rewritten(value: str, count: int) -> str:
    for i in range(count):
        value = with_line(value, i, f"changed {i}")
    return value


def patched(old: str, diff: str) -> str:
    """Applies unified hunks with no context lines (`@@ -a[,n] +b[,m] @@`) to `old`."""
    lines, out, at = old.split("\n"), [], 0
    body = diff.split("\n")[2:]
    i = 0
    while i < len(body):
        start, count = _range(body[i])
        taken = start - 1 if count else start  # a pure insertion names the line before
        out += lines[at:taken]
        at = taken + count
        i += 1
        while i < len(body) and not body[i].startswith("@@"):
            if body[i].startswith("+"):
                out.append(body[i][1:])
            i += 1
    return "\n".join(out + lines[at:])


def _range(header: str) -> tuple[int, int]:
    found = re.match(r"@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", header)
    assert found, header
    return int(found[1]), int(found[2] if found[2] is not None else 1)


def test_given_5_of_20_lines_changed_then_it_is_still_a_diff() -> None:
    # 10 of 40 lines, exactly 25%: not more than the guide's limit
    assert diff_value(text(20), rewritten(text(20), 5)) is not None


def test_given_one_line_of_a_long_text_changed_then_the_diff_names_the_new_values_hash() -> None:
    old = text(20)
    new = with_line(old, 7, "line 007 rewritten by the sales team")

    diff = diff_value(old, new)

    assert diff is not None
    assert diff.startswith(f"--- \n+++ {hashlib.sha256(new.encode()).hexdigest()}\n@@ ")
    assert "\n-line 007 " in diff and "\n+line 007 rewritten by the sales team" in diff
    assert patched(old, diff) == new


def test_given_two_hunks_then_applying_them_gives_the_new_value() -> None:
    old = text(30)
    new = with_line(with_line(old, 3, "third, edited"), 25, "twenty-fifth, edited")

    diff = diff_value(old, new)

    assert diff is not None and diff.count("\n@@ ") == 2
    assert patched(old, diff) == new


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (text(5), with_line(text(5), 1, "short"), "under 1,000 characters"),
        (text(20), text(20) + "\n" + text(12, tag="more "), "length changed by over 50%"),
        (text(20), text(20, tag="all "), "every line changed"),
        (text(20), rewritten(text(20), 6), "12 of 40 lines changed: over 25%"),
        (None, text(20), "no old value"),
        (text(20), None, "nulled"),
    ],
)
def test_given_the_guides_exceptions_then_the_whole_value_is_sent(
    old: str | None, new: str | None, why: str
) -> None:
    assert diff_value(old, new) is None, why
