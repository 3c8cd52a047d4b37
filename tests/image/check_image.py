"""The image that `make image` builds, run as the chart runs it (`make test-image`): the chart
renders its pods, and each container runs under Podman with that pod's image, command, arguments,
user, read-only root, dropped capabilities, environment and volumes, on the host's network against
the local broker, PostgreSQL and sfsim. The image named is the chart's default one
(GATHER_SYNC_IMAGE=name:tag runs another, e.g. a deliberately broken build)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine

from connectors.kafka.settings import KafkaSettings
from sfsim.clock import SystemClock
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import sfsim_environ, tenant_document
from tests.connectors.salesforce.harness import Traffic, wait_until
from tests.deploy.helm import (
    REPO,
    Helm,
    Manifest,
    containers,
    every_container,
    helm_binary,
    manifests,
    named,
)
from tests.e2e.pipeline import free_port, rows
from tests.image.podman import PodRun, Started, http_ok, podman, secrets_of

FULL = "sync-gather-sync"
IMAGE_USER = "10001:10001"
CA_DIR = "/secrets/sfsim"
STAGES = [("Deployment", "sink"), ("StatefulSet", "worker"), ("Deployment", "listener")]
ACME = (REPO / "examples" / "tenant-acme.yaml").read_text(encoding="utf-8")


def image_values() -> dict[str, Any]:
    """The chart's default image, or GATHER_SYNC_IMAGE's."""
    other = os.environ.get("GATHER_SYNC_IMAGE")
    if not other:
        return {}
    repository, _, tag = other.rpartition(":")
    return {"image": {"repository": repository, "tag": tag}}


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Callable[[dict[str, Any]], list[Manifest]]:
    helm = Helm(helm_binary(), tmp_path_factory.mktemp("helm-home"))
    folder = tmp_path_factory.mktemp("values")

    def rendered(values: dict[str, Any]) -> list[Manifest]:
        path = folder / f"values-{uuid.uuid4().hex[:8]}.yaml"
        path.write_text(yaml.safe_dump(image_values() | values), encoding="utf-8")
        done = helm.template(path)
        assert done.returncode == 0, done.stderr
        return manifests(done.stdout)

    return rendered


@pytest.fixture(scope="module")
def image(render: Callable[[dict[str, Any]], list[Manifest]]) -> str:
    """The image the chart's pods name, as Podman has it (built by `make image`)."""
    name = str(containers(named(render({}), "Deployment", f"{FULL}-sink"))[0]["image"])
    found = podman("image", "inspect", name)
    assert found.returncode == 0, f"no image {name}: run `make image` ({found.stderr.strip()})"
    return name


def inspect(image: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(podman("image", "inspect", image).stdout)[0]
    return found


def readable_dir(path: Path, owner: int | None = None) -> Path:
    """A host directory the container's user can reach (pytest's tmp dirs are 0700)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    if owner is not None:
        os.chown(path, owner, owner)
    return path


def every_volume(docs: list[Manifest], folder: Path) -> dict[str, Path]:
    """An empty host directory for each volume that is not an emptyDir (Secrets, ConfigMaps)."""
    names = {
        m["name"]
        for workload, container in every_container(docs)
        for m in container.get("volumeMounts", [])
    }
    return {name: readable_dir(folder / name) for name in names}


def sink_pod(docs: list[Manifest], volumes: dict[str, Path]) -> PodRun:
    sink = named(docs, "Deployment", f"{FULL}-sink")
    return PodRun(sink, containers(sink)[0], secrets_of(docs), volumes)


def test_given_the_image_when_inspected_then_it_runs_as_10001_without_test_code(
    image: str, render: Callable[[dict[str, Any]], list[Manifest]], tmp_path: Path
) -> None:
    config = inspect(image)["Config"]
    with_sfsim = config.get("Labels", {}).get("io.gather-sync.with-sfsim") == "true"
    docs = render({})
    pod = sink_pod(docs, every_volume(docs, tmp_path))
    pod.container = pod.container | {"command": ["python3"], "args": []}
    probe = "import importlib.util as u, os; print(os.getuid(), [m for m in ('tests', 'bench', 'sfsim') if u.find_spec(m)])"

    done = pod.run_once("-c", probe)

    assert config["User"] == IMAGE_USER
    assert config["Entrypoint"] == ["gather-sync"]
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(" ", 1) == ["10001", f"{['sfsim'] if with_sfsim else []}\n"]


def test_given_the_charts_pod_settings_when_help_and_tenants_validate_run_then_both_work(
    image: str, render: Callable[[dict[str, Any]], list[Manifest]], tmp_path: Path
) -> None:
    docs = render({"tenants": {"files": {"acme.yaml": ACME}}})
    volumes = every_volume(docs, tmp_path)
    (volumes["tenants"] / "acme.yaml").write_text(ACME, encoding="utf-8")
    job = named(docs, "Job", f"{FULL}-tenants-apply")  # its pod mounts the tenant files
    pod = PodRun(job, containers(job)[0] | {"command": ["gather-sync"]}, secrets_of(docs), volumes)

    helped = pod.run_once("--help")
    validated = pod.run_once("tenants", "validate", "/config/acme.yaml")

    assert helped.returncode == 0, helped.stderr
    for command in ("listen", "worker", "sink", "tenants", "db", "topics", "dashboard"):
        assert command in helped.stdout
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "acme" in validated.stdout


def test_given_every_container_the_chart_renders_when_asked_for_help_then_the_image_has_its_command(
    image: str, render: Callable[[dict[str, Any]], list[Manifest]], tmp_path: Path
) -> None:
    docs = render({"dashboard": {"enabled": True}, "tenants": {"files": {"acme.yaml": ACME}}})
    volumes, secrets = every_volume(docs, tmp_path), secrets_of(docs)
    ran = []
    for workload, container in every_container(docs):
        pod = PodRun(workload, container, secrets, volumes)
        command = container.get("command")
        if command:  # a shell running gather-sync: the same line, asking for help
            pod.container = container | {"command": [*command[:-1], f"{command[-1]} --help"]}
            done = pod.run_once()
        else:
            done = pod.run_once("--help")
        ran.append(container["name"])
        assert done.returncode == 0, f"{container['name']}: {done.stderr}"
        assert done.stdout.startswith("usage: gather-sync"), container["name"]

    assert sorted(ran) == sorted(
        [
            "listener",
            "worker",
            "sink",
            "dashboard",
            "db-migrate",
            "topics-provision",
            "tenants-apply",
        ]
    )


def pipeline_values(
    kafka: KafkaSettings, database_url: str, org: ThreadedSfsim, tenant: dict[str, Any]
) -> dict[str, Any]:
    """The chart's values for one run: its own topic prefix and groups on the local services,
    sfsim's CA as a mounted Secret, the tenant's client secret in the listener's environment."""
    run = uuid.uuid4().hex[:8]
    prefix = f"image-{run}."
    ca = f"{CA_DIR}/{Path(org.credentials.ca).name}"
    listener_env = sfsim_environ(org) | {
        "LISTENER_SALESFORCE_CA_FILE": ca,
        "LISTENER_CHECKPOINT_INTERVAL": "0.5",
    }
    return {
        "kafka": {
            "bootstrapServers": kafka.bootstrap_servers,
            "partitions": 3,
            "replicationFactor": 1,
        },
        "database": {"url": database_url},
        "extraEnv": [{"name": "KAFKA_TOPIC_PREFIX", "value": prefix}],
        "listener": {
            "groupId": f"image-listener-{run}",
            "env": [{"name": k, "value": v} for k, v in listener_env.items()],
            "secretMounts": [{"secretName": "sfsim-ca", "mountPath": CA_DIR}],
        },
        "worker": {"appId": f"image-worker-{run}"},
        "sink": {"groupId": f"image-sink-{run}"},
        "tenants": {"files": {"acme.yaml": yaml.safe_dump(tenant)}},
    }


def host_volumes(tmp_path: Path, org: ThreadedSfsim, tenant: dict[str, Any]) -> dict[str, Path]:
    """The pods' volumes on the host: sfsim's CA (Secret), the tenant file (ConfigMap), the
    worker's claim (owned by the pods' user, as fsGroup makes it)."""
    ca = readable_dir(tmp_path / "ca")
    shutil.copy(org.credentials.ca, ca)
    (ca / Path(org.credentials.ca).name).chmod(0o644)
    config = readable_dir(tmp_path / "config")
    (config / "acme.yaml").write_text(yaml.safe_dump(tenant), encoding="utf-8")
    data = readable_dir(tmp_path / "data", owner=10001)
    return {"tenant-secret-0": ca, "tenants": config, "data": data}


def exited(started: dict[str, tuple[PodRun, Started]]) -> list[str]:
    return [stage for stage, (_, process) in started.items() if not process.running()]


def ready(pod: PodRun) -> bool:
    return http_ok(pod.probe_url("readinessProbe"))


@pytest.fixture
def started() -> Iterator[dict[str, tuple[PodRun, Started]]]:
    """The stages' containers; a failed test shows their logs; all are stopped and removed."""
    stages: dict[str, tuple[PodRun, Started]] = {}
    yield stages
    for name, (_, container) in reversed(stages.items()):
        sys.stderr.write(f"--- {name} ---\n{container.logs()}\n")  # shown when the test failed
        container.stop()


def test_given_the_charts_pods_as_containers_when_the_org_changes_then_the_changes_reach_the_store(
    image: str,
    render: Callable[[dict[str, Any]], list[Manifest]],
    kafka_settings: KafkaSettings,
    postgres_engine: Engine,
    started: dict[str, tuple[PodRun, Started]],
    tmp_path: Path,
) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    with ThreadedSfsim(tmp_path / "tls", clock=SystemClock(), accounts=10) as org:
        tenant = tenant_document(
            org, "acme", accounts={"sync_mode": "create_new", "id_field": "Id"}
        )
        docs = render(pipeline_values(kafka_settings, url, org, tenant))
        volumes, secrets = host_volumes(tmp_path, org, tenant), secrets_of(docs)
        setup = named(docs, "Job", f"{FULL}-setup")
        for container in containers(setup, init=True) + containers(setup):
            done = PodRun(setup, container, secrets, volumes).run_once()
            assert done.returncode == 0, f"{container['name']}: {done.stdout}{done.stderr}"

        run = uuid.uuid4().hex[:6]
        for kind, stage in STAGES:
            workload = named(docs, kind, f"{FULL}-{stage}")
            ports = {"METRICS_PORT": str(free_port()), "METRICS_HOST": "127.0.0.1"}
            pod = PodRun(workload, containers(workload)[0], secrets, volumes, ports)
            started[stage] = (pod, pod.start(f"gather-sync-test-{run}-{stage}"))
        apply = named(docs, "Job", f"{FULL}-tenants-apply")
        done = PodRun(apply, containers(apply)[0], secrets, volumes).run_once()
        assert done.returncode == 0, done.stdout + done.stderr

        assert wait_until(lambda: org.admin("state")["cometd_polling"] >= 1, timeout=90)
        with Traffic(org, changes=2, pause=0.2):  # a stage that exits fails the test at once
            wait_until(lambda: rows(postgres_engine) > 0 or bool(exited(started)), 120, step=1)
        assert exited(started) == []
        assert rows(postgres_engine) > 0
        for stage, (pod, _) in started.items():
            assert wait_until(partial(ready, pod), timeout=60), stage
            assert http_ok(pod.probe_url("livenessProbe")), stage
