"""The PostgreSQL store's batch statements: which tables a sink analyzes as it fills them."""

from __future__ import annotations

from connectors.gather.pg_batch import Growth


def test_given_inserts_below_the_floor_then_no_table_is_analyzed() -> None:
    growth = Growth(floor=1000)

    assert growth.grown({"accounts": 600}) == []


def test_given_a_table_filled_past_the_floor_then_it_alone_is_analyzed() -> None:
    growth = Growth(floor=1000)
    growth.grown({"accounts": 600, "users": 10})

    assert growth.grown({"accounts": 600, "users": 10}) == ["accounts"]


def test_given_a_growing_table_then_each_analyze_waits_for_twice_the_last_growth() -> None:
    growth = Growth(floor=1000)
    analyzed_after = []
    inserted = 0
    for _ in range(300):  # 300 batches of 500 new rows: 150,000 rows
        inserted += 500
        if growth.grown({"accounts": 500}):
            analyzed_after.append(inserted)

    # the table at each analyze: about double the last, so log2(rows) analyzes in all
    assert analyzed_after == [1000, 3000, 7000, 15000, 31000, 63000, 127000]
