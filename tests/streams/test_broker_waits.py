"""The worker's quieting of aiokafka's repeated lines (the bootstrap wait runs in
tests/e2e/test_startup.py against a broker that comes up late)."""

from __future__ import annotations

import logging

from streams.broker_waits import Repeats


def record(msg: str, name: str = "aiokafka.client") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, None, None)


def test_given_a_message_repeated_within_the_window_then_only_the_first_passes() -> None:
    now = [0.0]
    repeats = Repeats(window=30, clock=lambda: now[0])
    passed = []
    for step in range(4000):
        now[0] = step / 1000  # 4,000 lines in 4 s, as in a broker outage
        passed.append(repeats.filter(record("Unable to update metadata from %s")))

    assert passed.count(True) == 1
    assert passed[0] is True


def test_given_the_window_passed_then_the_next_line_says_how_many_were_held_back() -> None:
    now = [0.0]
    repeats = Repeats(window=30, clock=lambda: now[0])
    for step in range(10):
        now[0] = step
        repeats.filter(record("Unable to update metadata from %s"))
    now[0] = 31
    again = record("Unable to update metadata from %s")

    assert repeats.filter(again)
    assert again.msg.endswith("[9 more like this in the last 31 s]")


def test_given_different_messages_or_loggers_then_each_passes_on_its_own() -> None:
    repeats = Repeats(window=30, clock=lambda: 0.0)

    assert repeats.filter(record("Unable to update metadata from %s"))
    assert repeats.filter(record("Unable connect to node with id %s: %s"))
    assert repeats.filter(record("Unable to update metadata from %s", "aiokafka.other"))
