"""The real Helm CLI for the chart's tests, and small readers of the manifests it renders."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "gather-sync"
HELM_DEFAULT = REPO / ".local" / "tools" / "bin" / "helm"
KUBE_VERSION = "1.30.0"
RELEASE = "sync"
NAMESPACE = "gather"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")

Manifest = dict[str, Any]
NOTES_AS_CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: notes
data:
  notes: {{ tpl (.Files.Get "notes.txt") . | quote }}
"""


def helm_binary() -> Path:
    """HELM_BIN, else the one deploy/local/helm.sh builds; missing fails the test, never skips."""
    path = Path(os.environ.get("HELM_BIN") or HELM_DEFAULT)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"helm not found at {path}: run deploy/local/helm.sh (make test does), "
            "or point HELM_BIN at a Helm 3 binary",
            pytrace=False,
        )
    return path


@dataclass(frozen=True)
class Helm:
    """Runs helm with its own config, cache and data homes, so the user's repos play no part."""

    binary: Path
    home: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = os.environ | {
            f"HELM_{kind}_HOME": str(self.home / kind.lower())
            for kind in ("CACHE", "CONFIG", "DATA")
        }
        return subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, env=env, timeout=120
        )

    def template(self, values: Path | None, *extra: str) -> subprocess.CompletedProcess[str]:
        files = ["--values", str(values)] if values else []
        return self.run(
            "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
            "--kube-version", KUBE_VERSION, *files, *extra,
        )  # fmt: skip

    def notes(self, values: Path, scratch: Path) -> str:
        """templates/NOTES.txt as `helm install` prints it: helm renders notes only at install,
        which needs a cluster, so a copy of the chart renders them into a ConfigMap through tpl,
        with the chart's own helpers."""
        chart = scratch / CHART.name
        shutil.copytree(CHART, chart)
        shutil.copy(CHART / "templates" / "NOTES.txt", chart / "notes.txt")
        (chart / "templates" / "zz-notes.yaml").write_text(NOTES_AS_CONFIGMAP, encoding="utf-8")
        result = self.run(
            "template", RELEASE, str(chart), "--namespace", NAMESPACE,
            "--kube-version", KUBE_VERSION, "--values", str(values),
            "--show-only", "templates/zz-notes.yaml",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return str(manifests(result.stdout)[0]["data"]["notes"])

    def lint(self, values: Path | None) -> subprocess.CompletedProcess[str]:
        files = ["--values", str(values)] if values else []
        return self.run("lint", str(CHART), "--strict", "--kube-version", KUBE_VERSION, *files)


def manifests(rendered: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def named(docs: list[Manifest], kind: str, name: str) -> Manifest:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def of_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [d for d in docs if d["kind"] == kind]


def containers(workload: Manifest, init: bool = False) -> list[Manifest]:
    spec = workload["spec"]["template"]["spec"]
    return list(spec.get("initContainers", []) if init else spec["containers"])


def pod_labels(workload: Manifest) -> dict[str, str]:
    return dict(workload["spec"]["template"]["metadata"]["labels"])


def env_of(container: Manifest) -> dict[str, Manifest]:
    return {e["name"]: e for e in container.get("env", [])}


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def every_container(docs: list[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    for workload in docs:
        if workload["kind"] in WORKLOAD_KINDS:
            for container in containers(workload) + containers(workload, init=True):
                yield workload, container
