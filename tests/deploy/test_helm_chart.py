"""The Helm chart (deploy/helm/gather-sync), linted and rendered by the real helm, its manifests
validated against the Kubernetes schemas that kubernetes-validate ships (strict: unknown fields
are errors). CRDs (ServiceMonitor, ScaledObject) have no such schema: their key fields are
asserted instead."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from cli.main import build_parser
from tests.deploy.helm import (
    NAMESPACE,
    RELEASE,
    REPO,
    Helm,
    Manifest,
    containers,
    env_of,
    every_container,
    helm_binary,
    manifests,
    named,
    of_kind,
    pod_labels,
    selects,
)

FULL = f"{RELEASE}-gather-sync"
# What tests/e2e/test_oracle.py, tests/streams/test_rebalance.py and the two-sink link test ran:
# 2 workers and 2 sinks, one replica added and one removed at a time, at most 3 sinks at once.
PROVEN_REPLICAS = 2
PROVEN_MAX = 3  # the most workers, and sinks, the scale-out tests ran at once
CRD_KINDS = {"ServiceMonitor", "ScaledObject"}
ACME = (REPO / "examples" / "tenant-acme.yaml").read_text(encoding="utf-8")

VALUE_SETS: dict[str, dict[str, Any] | None] = {
    "defaults": None,
    "all-on": {
        "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
        "dashboard": {"enabled": True},
        "autoscaling": {"enabled": True, "authenticationRef": "kafka-keda-auth"},
        "kafka": {
            "bootstrapServers": "kafka-0.kafka:9093,kafka-1.kafka:9093",
            "securityProtocol": "SASL_SSL",
            "sasl": {"mechanism": "SCRAM-SHA-512", "username": "gather", "password": "pw"},
        },
        "listener": {
            "envFromSecrets": ["acme-salesforce"],
            "secretMounts": [{"secretName": "globex-jwt", "mountPath": "/secrets/globex"}],
        },
        "tenants": {"files": {"acme.yaml": ACME}},
    },
    "existing-secret": {
        "database": {"existingSecret": "gather-db", "existingSecretKey": "dsn"},
        "kafka": {"sasl": {"mechanism": "PLAIN", "username": "u", "existingSecret": "kafka-creds"}},
    },
}
BAD_VALUES = {
    "worker": {"replicas": "three"},
    "kafka": {"securityProtocol": "TLS"},
    "wroker": {"replicas": 3},  # a misspelt key is refused, not ignored
    "probes": {"liveness": {"periodSecond": 5}, "staleAfterSeconds": 0},
}


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(helm_binary(), tmp_path_factory.mktemp("helm-home"))


@pytest.fixture(scope="module")
def values_file(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Any], Path | None]:
    folder = tmp_path_factory.mktemp("values")

    def write(values: dict[str, Any] | None) -> Path | None:
        if values is None:
            return None
        path = folder / f"values-{len(list(folder.iterdir()))}.yaml"
        path.write_text(yaml.safe_dump(values), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="module")
def rendered(helm: Helm, values_file: Callable[[Any], Path | None]) -> dict[str, list[Manifest]]:
    out: dict[str, list[Manifest]] = {}
    for name, values in VALUE_SETS.items():
        result = helm.template(values_file(values))
        assert result.returncode == 0, f"helm template ({name}) failed:\n{result.stderr}"
        out[name] = manifests(result.stdout)
    return out


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_given_a_value_set_when_helm_lint_strict_runs_then_no_chart_fails(
    helm: Helm, values_file: Callable[[Any], Path | None], value_set: str
) -> None:
    result = helm.lint(values_file(VALUE_SETS[value_set]))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout
    assert "[ERROR]" not in result.stdout and "[WARNING]" not in result.stdout


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_given_a_value_set_when_rendered_then_every_builtin_kind_passes_the_strict_schema(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    builtin = [d for d in rendered[value_set] if d["kind"] not in CRD_KINDS]

    for doc in builtin:
        try:
            kubernetes_validate.validate(doc, "1.30", strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {path}: {e.message}")
    assert {"Deployment", "StatefulSet", "Service", "PodDisruptionBudget", "Job"} <= {
        d["kind"] for d in builtin
    }


def test_given_the_defaults_when_rendered_then_the_worker_is_a_statefulset_with_its_datadir_on_a_claim(
    rendered: dict[str, list[Manifest]],
) -> None:
    docs = rendered["defaults"]
    worker = named(docs, "StatefulSet", f"{FULL}-worker")
    (container,) = containers(worker)
    env = env_of(container)
    (claim,) = worker["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}

    assert env["WORKER_DATADIR"]["value"] == "/data" == mounts[claim["metadata"]["name"]]
    assert env["WORKER_STORE"]["value"] == "rocksdb://"
    assert env["WORKER_APP_ID"]["value"] == "gather-sync-worker"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert "command" not in container  # the image's entry point, gather-sync
    assert container["args"] == ["worker", "--loglevel", "info"]
    governing = named(docs, "Service", worker["spec"]["serviceName"])
    assert governing["spec"]["clusterIP"] == "None"


def test_given_the_defaults_when_rendered_then_the_worker_replicas_do_not_exceed_partitions(
    rendered: dict[str, list[Manifest]],
) -> None:
    worker = named(rendered["defaults"], "StatefulSet", f"{FULL}-worker")
    (container,) = containers(worker)

    partitions = int(env_of(container)["KAFKA_PARTITIONS"]["value"])
    assert 1 <= worker["spec"]["replicas"] <= partitions


def test_given_the_defaults_when_rendered_then_the_worker_and_the_sink_run_the_proven_replicas(
    rendered: dict[str, list[Manifest]],
) -> None:
    docs = rendered["defaults"]

    assert named(docs, "StatefulSet", f"{FULL}-worker")["spec"]["replicas"] == PROVEN_REPLICAS
    assert named(docs, "Deployment", f"{FULL}-sink")["spec"]["replicas"] == PROVEN_REPLICAS


@pytest.mark.parametrize("partitions", [3, 6])
def test_given_autoscaling_on_when_rendered_then_keda_keeps_to_the_proven_bounds_one_step_at_a_time(
    helm: Helm, values_file: Callable[[Any], Path | None], partitions: int
) -> None:
    values = {"autoscaling": {"enabled": True}, "kafka": {"partitions": partitions}}

    result = helm.template(values_file(values))

    assert result.returncode == 0, result.stderr
    docs = manifests(result.stdout)
    worker = named(docs, "ScaledObject", f"{FULL}-worker")["spec"]
    sink = named(docs, "ScaledObject", f"{FULL}-sink")["spec"]
    assert (worker["minReplicaCount"], worker["maxReplicaCount"]) == (PROVEN_REPLICAS, PROVEN_MAX)
    assert (sink["minReplicaCount"], sink["maxReplicaCount"]) == (PROVEN_REPLICAS, PROVEN_MAX)
    for spec in (worker, sink):
        behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
        one_pod = [{"type": "Pods", "value": 1, "periodSeconds": 60}]
        assert behavior == {"scaleUp": {"policies": one_pod}, "scaleDown": {"policies": one_pod}}


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        ({"worker": {"maxReplicas": 8}}, "autoscaling.worker.maxReplicas (8) is more than"),
        ({"sink": {"maxReplicas": 7}}, "autoscaling.sink.maxReplicas (7) is more than"),
        ({"sink": {"minReplicas": 3, "maxReplicas": 2}}, "autoscaling.sink.minReplicas (3)"),
    ],
)
def test_given_keda_bounds_beyond_the_partitions_when_rendered_then_the_chart_refuses_them(
    helm: Helm, values_file: Callable[[Any], Path | None], scale: dict[str, Any], message: str
) -> None:
    values = {"autoscaling": {"enabled": True, **scale}, "kafka": {"partitions": 6}}

    result = helm.template(values_file(values))

    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_given_a_value_set_when_rendered_then_every_process_serves_metrics_behind_a_service(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    docs = rendered[value_set]
    services = of_kind(docs, "Service")
    processes = of_kind(docs, "Deployment") + of_kind(docs, "StatefulSet")

    assert len(processes) == (4 if value_set == "all-on" else 3)
    for workload in processes:
        for container in containers(workload):
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports["metrics"] == 9100, workload["metadata"]["name"]
            assert env_of(container)["METRICS_PORT"]["value"] == "9100"
        (service,) = [s for s in services if selects(s["spec"]["selector"], pod_labels(workload))]
        assert {"name": "metrics", "port": 9100, "targetPort": "metrics", "protocol": "TCP"} in (
            service["spec"]["ports"]
        )


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_given_a_value_set_when_rendered_then_each_stage_is_probed_on_its_livez_and_readyz(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    docs = rendered[value_set]
    stages = {f"{FULL}-{name}" for name in ("listener", "worker", "sink")}
    probed = {}
    for workload in of_kind(docs, "Deployment") + of_kind(docs, "StatefulSet"):
        (container,) = containers(workload)
        ready, live = container["readinessProbe"], container["livenessProbe"]
        probed[workload["metadata"]["name"]] = (ready["httpGet"]["path"], live["httpGet"]["path"])
        assert ready["httpGet"]["port"] == live["httpGet"]["port"] == "metrics"
        assert (ready["timeoutSeconds"], live["timeoutSeconds"]) == (5, 5)  # the store's ping
        assert env_of(container)["HEALTH_STALE_AFTER"]["value"] == "60"

    assert {name: probed[name] for name in stages} == dict.fromkeys(stages, ("/readyz", "/livez"))
    if value_set == "all-on":  # the dashboard has one health path, answering both
        assert probed[f"{FULL}-dashboard"] == ("/healthz", "/healthz")


def test_given_probe_timings_and_a_stale_age_when_rendered_then_every_stage_uses_them(
    helm: Helm, values_file: Callable[[Any], Path | None]
) -> None:
    values = {
        "probes": {
            "staleAfterSeconds": 120,
            "liveness": {"initialDelaySeconds": 0, "periodSeconds": 30, "failureThreshold": 4},
        }
    }

    result = helm.template(values_file(values))

    assert result.returncode == 0, result.stderr
    for workload in of_kind(manifests(result.stdout), "Deployment") + of_kind(
        manifests(result.stdout), "StatefulSet"
    ):
        (container,) = containers(workload)
        assert container["livenessProbe"] == {
            "httpGet": {"path": "/livez", "port": "metrics"},
            "initialDelaySeconds": 0,
            "periodSeconds": 30,
            "failureThreshold": 4,
            "timeoutSeconds": 5,  # a default not overridden is kept
        }
        assert container["readinessProbe"]["periodSeconds"] == 10
        assert env_of(container)["HEALTH_STALE_AFTER"]["value"] == "120"


def test_given_probes_off_when_rendered_then_no_stage_has_a_probe(
    helm: Helm, values_file: Callable[[Any], Path | None]
) -> None:
    result = helm.template(values_file({"probes": {"enabled": False}}))

    assert result.returncode == 0, result.stderr
    for workload in of_kind(manifests(result.stdout), "Deployment") + of_kind(
        manifests(result.stdout), "StatefulSet"
    ):
        (container,) = containers(workload)
        assert "readinessProbe" not in container and "livenessProbe" not in container


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_given_a_value_set_when_rendered_then_the_database_url_only_comes_from_a_secret_key_ref(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    expected = (
        {"name": "gather-db", "key": "dsn"}
        if value_set == "existing-secret"
        else {"name": f"{FULL}-secrets", "key": "database-url"}
    )
    users = [
        (w["metadata"]["name"], env_of(c)["GATHER_DATABASE_URL"])
        for w, c in every_container(rendered[value_set])
        if "GATHER_DATABASE_URL" in env_of(c)
    ]

    assert {name for name, _ in users} >= {f"{FULL}-sink", f"{FULL}-setup"}
    for name, var in users:
        assert "value" not in var, name
        assert var["valueFrom"]["secretKeyRef"] == expected, name


def test_given_the_defaults_when_rendered_then_the_chart_secret_holds_the_url_before_the_setup_job(
    rendered: dict[str, list[Manifest]],
) -> None:
    secret = named(rendered["defaults"], "Secret", f"{FULL}-secrets")
    setup = named(rendered["defaults"], "Job", f"{FULL}-setup")

    assert secret["stringData"] == {
        "database-url": "postgresql+psycopg://gather@postgresql:5432/gather"
    }
    assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert setup["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    weight = "helm.sh/hook-weight"
    assert int(secret["metadata"]["annotations"][weight]) < int(
        setup["metadata"]["annotations"][weight]
    )


def test_given_existing_secrets_when_rendered_then_the_chart_makes_no_secret_and_sasl_reads_theirs(
    rendered: dict[str, list[Manifest]],
) -> None:
    docs = rendered["existing-secret"]
    sink = named(docs, "Deployment", f"{FULL}-sink")
    env = env_of(containers(sink)[0])

    assert of_kind(docs, "Secret") == []
    assert env["KAFKA_SASL_MECHANISM"]["value"] == "PLAIN"
    assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "kafka-creds",
        "key": "password",
    }


def test_given_the_defaults_when_rendered_then_setup_runs_migrations_then_topic_provisioning(
    rendered: dict[str, list[Manifest]],
) -> None:
    setup = named(rendered["defaults"], "Job", f"{FULL}-setup")

    assert [c["args"] for c in containers(setup, init=True)] == [["db", "migrate"]]
    assert [c["args"] for c in containers(setup)] == [["topics", "provision"]]
    assert setup["spec"]["template"]["spec"]["restartPolicy"] == "Never"


@pytest.mark.parametrize("value_set", list(VALUE_SETS))
def test_given_a_value_set_when_rendered_then_each_pdb_selects_the_pods_of_exactly_one_workload(
    rendered: dict[str, list[Manifest]], value_set: str
) -> None:
    docs = rendered[value_set]
    workloads = of_kind(docs, "Deployment") + of_kind(docs, "StatefulSet")
    budgets = of_kind(docs, "PodDisruptionBudget")

    assert len(budgets) == len(workloads)
    for pdb in budgets:
        selector = pdb["spec"]["selector"]["matchLabels"]
        chosen = [w["metadata"]["name"] for w in workloads if selects(selector, pod_labels(w))]
        assert chosen == [pdb["metadata"]["name"]]
        assert pdb["spec"]["maxUnavailable"] == 1


def test_given_the_defaults_when_rendered_then_each_process_runs_its_own_gather_sync_command(
    rendered: dict[str, list[Manifest]],
) -> None:
    docs = rendered["defaults"]
    commands = {c["name"]: c["args"] for w, c in every_container(docs) if "args" in c}
    assert commands == {
        "listener": ["listen"],
        "worker": ["worker", "--loglevel", "info"],
        "sink": ["sink"],
        "db-migrate": ["db", "migrate"],
        "topics-provision": ["topics", "provision"],
    }
    for args in commands.values():  # the real CLI accepts each one
        assert build_parser().parse_args(args).handler is not None


def test_given_all_on_when_rendered_then_the_servicemonitor_scrapes_every_component_service(
    rendered: dict[str, list[Manifest]],
) -> None:
    docs = rendered["all-on"]
    monitor = named(docs, "ServiceMonitor", FULL)
    selector = monitor["spec"]["selector"]["matchLabels"]

    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "interval": "30s"}
    ]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    services = of_kind(docs, "Service")
    assert len(services) == 4
    assert all(selects(selector, s["metadata"]["labels"]) for s in services)


@pytest.mark.parametrize(
    ("component", "kind", "group", "topics"),
    [
        ("worker", "StatefulSet", "gather-sync-worker", ["sf.changes"]),
        (
            "sink",
            "Deployment",
            "gather-sync-sink",
            ["gather.accounts", "gather.users", "gather.records"],
        ),
    ],
)
def test_given_all_on_when_rendered_then_keda_scales_a_consumer_on_its_groups_lag_per_topic(
    rendered: dict[str, list[Manifest]], component: str, kind: str, group: str, topics: list[str]
) -> None:
    spec = named(rendered["all-on"], "ScaledObject", f"{FULL}-{component}")["spec"]

    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": kind,
        "name": f"{FULL}-{component}",
    }
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= 6
    assert [t["metadata"]["topic"] for t in spec["triggers"]] == topics
    for trigger in spec["triggers"]:
        assert trigger["type"] == "kafka"
        assert trigger["authenticationRef"] == {"name": "kafka-keda-auth"}
        assert trigger["metadata"] == {
            "bootstrapServers": "kafka-0.kafka:9093,kafka-1.kafka:9093",
            "consumerGroup": group,
            "topic": trigger["metadata"]["topic"],
            "lagThreshold": "1000",
        }


def test_given_autoscaling_when_rendered_then_helm_leaves_the_replica_count_to_keda(
    rendered: dict[str, list[Manifest]],
) -> None:
    docs = rendered["all-on"]

    assert "replicas" not in named(docs, "StatefulSet", f"{FULL}-worker")["spec"]
    assert "replicas" not in named(docs, "Deployment", f"{FULL}-sink")["spec"]
    assert named(docs, "Deployment", f"{FULL}-listener")["spec"]["replicas"] == 2


def test_given_tenant_files_when_rendered_then_a_post_install_job_applies_the_configmap(
    rendered: dict[str, list[Manifest]],
) -> None:
    docs = rendered["all-on"]
    config = named(docs, "ConfigMap", f"{FULL}-tenants")
    job = named(docs, "Job", f"{FULL}-tenants-apply")
    (container,) = containers(job)
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/config"]

    assert config["data"] == {"acme.yaml": ACME}
    assert volumes[mount["name"]]["configMap"]["name"] == f"{FULL}-tenants"
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    script = shlex.split(container["command"][-1])
    assert script == ["exec", "gather-sync", "tenants", "apply", "/config/*.yaml"]
    assert build_parser().parse_args(script[2:]).handler is not None
    # the org check logs in as the listener does: the same secrets, as env and as files
    assert container["envFrom"] == [{"secretRef": {"name": "acme-salesforce"}}]
    (secret,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/secrets/globex"]
    assert volumes[secret["name"]]["secret"] == {"secretName": "globex-jwt"}


def test_given_tenant_secret_refs_when_rendered_then_the_listener_gets_them_as_env_and_files(
    rendered: dict[str, list[Manifest]],
) -> None:
    listener = named(rendered["all-on"], "Deployment", f"{FULL}-listener")
    (container,) = containers(listener)
    volumes = {v["name"]: v for v in listener["spec"]["template"]["spec"]["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/secrets/globex"]

    assert container["envFrom"] == [{"secretRef": {"name": "acme-salesforce"}}]
    assert mount["readOnly"] is True
    assert volumes[mount["name"]]["secret"] == {"secretName": "globex-jwt"}


def test_given_the_dashboard_on_when_rendered_then_page_and_metrics_share_the_scraped_port(
    rendered: dict[str, list[Manifest]],
) -> None:
    docs = rendered["all-on"]
    (container,) = containers(named(docs, "Deployment", f"{FULL}-dashboard"))
    service = named(docs, "Service", f"{FULL}-dashboard")

    assert container["args"] == ["dashboard", "--host", "0.0.0.0", "--port", "9100"]
    assert container["ports"] == [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]
    assert {"name": "http", "port": 8080, "targetPort": "metrics", "protocol": "TCP"} in service[
        "spec"
    ]["ports"]


def test_given_values_the_schema_refuses_when_rendered_then_helm_names_each_bad_value(
    helm: Helm, values_file: Callable[[Any], Path | None]
) -> None:
    result = helm.template(values_file(BAD_VALUES))

    assert result.returncode != 0
    assert "values don't meet the specifications of the schema(s)" in result.stderr
    assert "- at '/worker/replicas': got string, want integer" in result.stderr
    assert (
        "- at '/kafka/securityProtocol': value must be one of "
        "'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'"
    ) in result.stderr
    assert "- at '': additional properties 'wroker' not allowed" in result.stderr
    assert "- at '/probes/liveness': additional properties 'periodSecond' not allowed" in (
        result.stderr
    )
    assert "- at '/probes/staleAfterSeconds': exclusiveMinimum: got 0, want 0" in result.stderr


def test_given_more_workers_than_partitions_when_rendered_then_the_chart_refuses_with_the_fix(
    helm: Helm, values_file: Callable[[Any], Path | None]
) -> None:
    values = {"worker": {"replicas": 8}, "kafka": {"partitions": 6}}

    result = helm.template(values_file(values))

    assert result.returncode != 0
    assert (
        "worker.replicas (8) is more than kafka.partitions (6): Faust tables are partitioned"
        in result.stderr
    )


def test_given_the_dashboard_on_when_notes_render_then_they_tell_how_to_watch_lag_and_reach_it(
    helm: Helm, values_file: Callable[[Any], Path | None], tmp_path: Path
) -> None:
    values = values_file({"dashboard": {"enabled": True}})
    assert values is not None

    notes = helm.notes(values, tmp_path)

    assert f"kubectl exec -n {NAMESPACE} -it deploy/{FULL}-sink -- gather-sync lag --watch" in notes
    assert f"kubectl port-forward -n {NAMESPACE} svc/{FULL}-dashboard 8080:8080" in notes
    assert "The dashboard is off" not in notes


def test_given_the_defaults_when_notes_render_then_they_state_the_proven_replicas_and_a_rebalances_cost(
    helm: Helm, values_file: Callable[[Any], Path | None], tmp_path: Path
) -> None:
    values = values_file({"autoscaling": {"enabled": True}, "kafka": {"partitions": 3}})
    assert values is not None

    notes = " ".join(helm.notes(values, tmp_path).split())  # one line: wrapping aside

    assert "KEDA scales the worker between 2 and 3 and the sink between 2 and 3" in notes
    assert "The tests proved 2 workers and 2 sinks, scaled one replica at a time" in notes
    assert "when a worker joins, 2.6-3.1 s with 10,000 record states and 5.1-6.3 s" in notes
    assert "60 s by default (BROKER_SESSION_TIMEOUT in worker.env" in notes
    assert "duplicate upserts are expected" in notes
    assert "Fewer than 2 workers" not in notes
