"""`sfsim serve` as a user runs it: a process that prints its credentials, serves the real
clients, drives traffic, and stops cleanly on SIGTERM, saving its state."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce

from sfsim.cli import main
from sfsim.testing import serve_process


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any], Path]]:
    state_file = tmp_path / "org.json"
    process, credentials = serve_process(
        tmp_path / "tls",
        "--accounts",
        "15",
        "--state-file",
        str(state_file),
        "--traffic-rate",
        "50",
    )
    yield process, credentials, state_file
    if process.poll() is None:
        process.kill()
        process.wait()


def test_given_sfsim_serve_when_a_client_logs_in_then_it_sees_the_seeded_org(
    served: tuple[subprocess.Popen[str], dict[str, Any], Path],
) -> None:
    _, credentials, _ = served
    http = requests.Session()
    http.trust_env, http.verify = False, credentials["ca"]

    sf: Any = Salesforce(
        username=credentials["username"],
        password=credentials["password"],
        security_token=credentials["security_token"],
        domain=credentials["login_domain"],
        session=http,
    )

    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] >= 15


def test_given_traffic_when_sigterm_arrives_then_it_exits_zero_and_saves_the_org(
    served: tuple[subprocess.Popen[str], dict[str, Any], Path],
) -> None:
    process, credentials, state_file = served
    http = requests.Session()
    http.trust_env, http.verify = False, credentials["ca"]
    state = http.post(f"{credentials['url']}/sfsim/admin/state", json={}).json()

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 0
    saved = json.loads(state_file.read_text())
    assert len(saved["Account"]) >= 15 and state["last_replay_id"] > 0


def test_given_no_command_then_usage_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main([])

    assert raised.value.code == 2
    assert "serve" in capsys.readouterr().err


def test_given_a_running_sfsim_when_traffic_is_driven_then_changes_are_made(
    served: tuple[subprocess.Popen[str], dict[str, Any], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, credentials, _ = served

    code = main(
        [
            "traffic",
            "--url",
            credentials["url"],
            "--ca",
            credentials["ca"],
            "--rate",
            "100",
            "--duration",
            "0.5",
        ]
    )

    assert code == 0
    made = int(capsys.readouterr().out.split()[1])
    assert made >= 40
