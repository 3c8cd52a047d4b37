"""The structlog set-up: JSON lines on a stream that is not a terminal, filtered by level, written
to whatever sys.stderr is when the line is logged."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import structlog

from connectors.telemetry.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    """configure_logging sets structlog's global configuration; later tests get the defaults."""
    yield
    structlog.reset_defaults()


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_given_stderr_is_not_a_terminal_when_a_line_is_logged_then_it_is_json_with_the_tenant(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    with structlog.contextvars.bound_contextvars(tenant="acme"):
        structlog.get_logger("test").info("listener.started", org="00D1")
    [line] = lines(capsys.readouterr().err)
    assert line["event"] == "listener.started"
    assert (line["level"], line["tenant"], line["org"]) == ("info", "acme", "00D1")
    assert datetime.fromisoformat(line["timestamp"]).utcoffset() is not None


def test_given_level_warning_when_info_and_warning_are_logged_then_only_the_warning_is_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("WARNING")
    log = structlog.get_logger("test")
    log.info("quiet")
    log.warning("loud")
    assert [line["event"] for line in lines(capsys.readouterr().err)] == ["loud"]


def test_given_stderr_is_replaced_after_set_up_when_a_line_is_logged_then_it_goes_to_the_new_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    log = structlog.get_logger("test")
    log.info("before")
    redirected = io.StringIO()
    with contextlib.redirect_stderr(redirected):
        log.info("after")
    assert [line["event"] for line in lines(redirected.getvalue())] == ["after"]
    assert [line["event"] for line in lines(capsys.readouterr().err)] == ["before"]
