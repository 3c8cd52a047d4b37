"""`gather-sync dashboard` while the whole pipeline runs (listener, Faust worker and sink as
processes on the real broker, sfsim with live traffic, a SQLite store): real headless Chromium
(Debian's package, deploy/local/chromium.sh) loads the page twice and reads the charts from the
DOM, takes a screenshot, and `/metrics` is scraped in Prometheus' text format.

SAVE_SCREENSHOT=1 also copies the screenshot to docs/img/dashboard.png."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from connectors.kafka.settings import KafkaSettings
from sfsim.clock import SystemClock
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import tenant_document
from tests.connectors.salesforce.harness import Traffic, wait_until
from tests.e2e.pipeline import REPO, Pipeline

CHROMIUM = Path(os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium"))
TENANT = "dash"
SCREENSHOT_COPY = REPO / "docs" / "img" / "dashboard.png"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- the dashboard process and the browser ----------------------------------------------------


@dataclass(frozen=True)
class Live:
    pipeline: Pipeline
    url: str  # the dashboard's base URL
    groups: tuple[str, ...]  # the worker's and the sink's consumer groups
    workdir: Path


@contextmanager
def dashboard_process(pipeline: Pipeline, groups: tuple[str, ...], log: Path) -> Iterator[str]:
    """`gather-sync dashboard` on a free port with the pipeline's env; yields its URL."""
    prefixes = [arg for group in groups for arg in ("--group-prefix", group)]
    command = [sys.executable, "-m", "cli.main", "dashboard", "--port", "0", "--interval", "1"]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*command, *prefixes], cwd=REPO, env=pipeline.env, stdout=out, stderr=out
        )
    try:
        assert wait_until(lambda: _served_url(log) is not None, timeout=90), log.read_text(
            errors="replace"
        )
        yield str(_served_url(log))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def _served_url(log: Path) -> str | None:
    match = re.search(r"dashboard on (http://\S+/)", log.read_text(errors="replace"))
    return match.group(1) if match else None


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def chromium() -> Path:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run deploy/local/chromium.sh (make test does), "
            "or point CHROMIUM_BIN at a Chromium binary",
            pytrace=False,
        )
    return CHROMIUM


def headless(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Real headless Chromium; virtual time lets the page fetch and draw before it is read."""
    command = [
        str(chromium()),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=6000",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


class ChartReader(HTMLParser):
    """Every element with a data-chart attribute, by chart name, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict[str, str]] = {}
        self.badges: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if "data-chart" in found:
            self.charts[found["data-chart"]] = found
        if "badge" in found.get("class", "").split():
            self.badges.append(found.get("data-status", ""))


def read_charts(dom: str) -> ChartReader:
    reader = ChartReader()
    reader.feed(dom)
    return reader


# --- the running pipeline ---------------------------------------------------------------------


def has_data(url: str, groups: tuple[str, ...]) -> bool:
    series = get_json(url + "api/series")
    shown = {g["group"] for g in series["groups"]}
    tenants = {t["tenant"] for t in series["tenants"]}
    return set(groups) <= shown and TENANT in tenants


@pytest.fixture(scope="module")
def live(kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The pipeline with live traffic and the dashboard, once the charts have data."""
    workdir = tmp_path_factory.mktemp("dashboard")
    store = f"sqlite:///{workdir}/gather.db"
    with (
        ThreadedSfsim(workdir / "tls", clock=SystemClock(), accounts=10) as org,
        Pipeline(kafka_settings, org, store, workdir) as pipeline,
    ):
        document = tenant_document(
            org, TENANT, accounts={"sync_mode": "create_new", "id_field": "Id"}
        )
        pipeline.apply(document, TENANT)
        groups = (pipeline.env["WORKER_APP_ID"], pipeline.env["SINK_GROUP_ID"])
        log = workdir / "dashboard.log"
        with Traffic(org, changes=2, pause=0.1), dashboard_process(pipeline, groups, log) as url:
            assert wait_until(lambda: has_data(url, groups), timeout=240, step=1), (
                f"no data for {groups} and {TENANT}:\n{get_json(url + 'api/series')}\n"
                f"{pipeline.log('worker')}\n{pipeline.log('sink')}\n{log.read_text()[-3000:]}"
            )
            yield Live(pipeline, url, groups, workdir)


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.timeout(900)
def test_given_the_pipeline_running_when_chromium_loads_the_page_twice_then_the_charts_grow_with_live_data(
    live: Live, tmp_path: Path
) -> None:
    worker, sink = (f"lag:{g}" for g in live.groups)
    freshness = f"freshness:{TENANT}"

    first = read_charts(headless(tmp_path / "profile", "--dump-dom", live.url).stdout)
    time.sleep(6)
    second = read_charts(headless(tmp_path / "profile", "--dump-dom", live.url).stdout)
    png = tmp_path / "dashboard.png"
    headless(
        tmp_path / "profile",
        f"--screenshot={png}",
        "--window-size=1280,900",
        "--hide-scrollbars",
        live.url,
    )

    for chart in (worker, sink, freshness):
        assert chart in first.charts, f"{chart} missing; charts: {sorted(first.charts)}"
        before, after = (
            int(first.charts[chart]["data-points"]),
            int(second.charts[chart]["data-points"]),
        )
        assert before >= 1, first.charts[chart]
        assert after > before, (chart, before, after)
    assert set(second.charts) == {worker, sink, freshness}, "only the pipeline's groups are shown"
    age = float(second.charts[freshness]["data-last"])
    assert math.isfinite(age) and 0 <= age < 300, age
    assert all(math.isfinite(float(second.charts[c]["data-last"])) for c in (worker, sink))
    assert set(second.badges) <= {"OK", "WARN", "STALL", "STOP", "REWIND"} and second.badges
    assert png.read_bytes().startswith(PNG_MAGIC)
    assert png.stat().st_size > 20_000, png.stat().st_size
    if os.environ.get("SAVE_SCREENSHOT") == "1":
        SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, SCREENSHOT_COPY)


@pytest.mark.timeout(900)
def test_given_the_pipeline_running_when_metrics_are_scraped_then_gauges_show_its_groups_and_tenant(
    live: Live,
) -> None:
    with urllib.request.urlopen(live.url + "metrics", timeout=10) as response:
        content_type = response.headers["Content-Type"]
        text = response.read().decode()

    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    by_name: dict[str, list[Any]] = {}
    for s in samples:
        by_name.setdefault(s.name, []).append(s)
    assert content_type.startswith("text/plain; version=")
    for name in ("gather_sync_consumer_lag_messages", "gather_sync_consumer_lag_seconds"):
        assert {s.labels["group"] for s in by_name[name]} == set(live.groups), name
        assert all(
            s.value >= 0 and set(s.labels) == {"group", "topic", "partition"} for s in by_name[name]
        )
    current: dict[tuple[str, str, str], float] = {}
    for s in by_name["gather_sync_consumer_status"]:
        key = (s.labels["group"], s.labels["topic"], s.labels["partition"])
        current[key] = current.get(key, 0.0) + s.value
    assert current and set(current.values()) == {1.0}, "one current status per partition"
    fresh = [s for s in by_name["gather_sync_freshness_seconds"] if s.labels["tenant"] == TENANT]
    assert len(fresh) == 1 and math.isfinite(fresh[0].value) and fresh[0].value >= 0
    health = get_json(live.url + "healthz")
    assert health["status"] == "ok" and health["error"] is None and health["last_sample_at"]
