"""bench.profile_top: self and inclusive time from a py-spy raw profile."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.profile_top import main, parse, top, without_imports

RAW = """\
<module> (run.py:7);backfill (backfill.py:60);row_change (snapshots.py:48);__init__ (main.py:250) 30
<module> (run.py:7);backfill (backfill.py:58);bulk_rows (orgapi.py:197);__next__ (csv.py:110) 50
<module> (run.py:7);backfill (backfill.py:61);send (kafka_io.py:48) 15
<module> (run.py:7);backfill (backfill.py:61);send (kafka_io.py:49) 5
"""


def test_given_a_raw_profile_when_ranked_then_self_time_is_where_the_stack_ends() -> None:
    result = top(parse(RAW.splitlines()), n=3)

    assert result.samples == 100
    assert [(f.name, f.samples) for f in result.self_time] == [
        ("__next__ (csv.py)", 50),
        ("__init__ (main.py)", 30),
        ("send (kafka_io.py)", 20),  # its two lines merged
    ]
    assert result.self_time[0].share == pytest.approx(0.5)


def test_given_a_raw_profile_when_ranked_then_inclusive_time_counts_every_caller() -> None:
    result = top(parse(RAW.splitlines()), n=3)

    assert [(f.name, f.samples) for f in result.inclusive] == [
        ("<module> (run.py)", 100),  # ties ranked by name
        ("backfill (backfill.py)", 100),
        ("__next__ (csv.py)", 50),
    ]


def test_given_lines_apart_when_parsed_then_a_function_keeps_one_frame_per_line() -> None:
    stacks = parse(RAW.splitlines(), lines_apart=True)

    innermost = {frames[-1] for frames in stacks}
    assert {"send (kafka_io.py:48)", "send (kafka_io.py:49)"} <= innermost


def test_given_blank_and_torn_lines_when_parsed_then_they_are_skipped() -> None:
    stacks = parse(["", "a (x.py:1);b (x.py:2) 4", "a (x.py:1);b (x.py:2"])

    assert stacks == Counter({("a (x.py)", "b (x.py)"): 4})


frame = st.sampled_from(["a (x.py:1)", "b (x.py:2)", "c (y.py:3)", "d (y.py:4)"])


@given(
    st.lists(st.tuples(st.lists(frame, min_size=1, max_size=6), st.integers(1, 50)), max_size=20)
)
def test_given_any_profile_then_self_time_adds_up_and_no_frame_exceeds_all_samples(
    rows: list[tuple[list[str], int]],
) -> None:
    stacks = parse(f"{';'.join(frames)} {count}" for frames, count in rows)

    result = top(stacks, n=10)

    assert sum(f.samples for f in result.self_time) == sum(c for _, c in rows)
    assert all(f.samples <= result.samples for f in result.inclusive)
    # a recursive frame counts once per sample in inclusive time
    assert all(f.share <= 1.0 for f in result.inclusive)


def test_given_an_empty_profile_when_run_then_it_says_so_and_fails(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")

    assert main([str(empty)]) == 1


def test_given_a_profile_file_when_run_then_it_prints_both_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "profile.txt"
    path.write_text(RAW, encoding="utf-8")

    assert main([str(path), "-n", "2"]) == 0

    printed = capsys.readouterr().out
    assert "| 50.0% | 50 | `__next__ (csv.py)` |" in printed
    assert "| inclusive % | samples | frame |" in printed


def test_given_start_up_imports_when_left_out_then_only_the_work_is_ranked() -> None:
    stacks = parse(
        [
            "<module> (main.py:1);_find_and_load (<frozen importlib._bootstrap>:1);x (p.py:2) 70",
            "<module> (main.py:1);work (w.py:3) 30",
        ]
    )

    result = top(without_imports(stacks))

    assert result.samples == 30
    assert [f.name for f in result.self_time] == ["work (w.py)"]
