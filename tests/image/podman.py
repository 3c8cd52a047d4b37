"""The chart's containers as Podman containers: the image, command and arguments, user, read-only
root, dropped capabilities, environment (Secrets resolved from the rendered manifests) and volumes
of a rendered pod, run on the host's network (deploy/image/containers.conf: runc, capped limits).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.helm import REPO, Manifest, of_kind

CONTAINERS_CONF = REPO / "deploy" / "image" / "containers.conf"
PODMAN_ENV = os.environ | {
    "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(CONTAINERS_CONF))
}


def podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["podman", *args], capture_output=True, text=True, env=PODMAN_ENV, timeout=timeout
        )
    except FileNotFoundError:
        pytest.fail("podman not found: `make test-image` installs it", pytrace=False)


def secrets_of(docs: list[Manifest]) -> dict[tuple[str, str], str]:
    """(Secret name, key) -> value of every Secret the chart renders."""
    found = {}
    for secret in of_kind(docs, "Secret"):
        name = secret["metadata"]["name"]
        for key, value in secret.get("stringData", {}).items():
            found[(name, key)] = str(value)
        for key, value in secret.get("data", {}).items():
            found[(name, key)] = base64.b64decode(value).decode()
    return found


def env_of(container: Manifest, secrets: Mapping[tuple[str, str], str]) -> dict[str, str]:
    """The container's environment as Kubernetes gives it: values, Secret keys; later wins."""
    env = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[(ref["name"], ref["key"])]
    return env


@dataclass
class PodRun:
    """One container of a rendered pod, run by Podman. `volumes` maps the pod's volume names to
    host directories (claims, Secrets, ConfigMaps); emptyDirs become tmpfs."""

    workload: Manifest
    container: Manifest
    secrets: Mapping[tuple[str, str], str]
    volumes: Mapping[str, Path] = field(default_factory=dict)
    env_override: Mapping[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return env_of(self.container, self.secrets) | dict(self.env_override)

    def options(self) -> list[str]:
        return [
            "--network=host",
            *self._security(),
            *self._mounts(),
            *(f"--env={k}={v}" for k, v in self.env.items()),
            *self._entrypoint(),
        ]

    def argv(self, extra_args: tuple[str, ...] = ()) -> list[str]:
        """`podman run` arguments after the options: the image and the container's args."""
        return [self.container["image"], *self._args(), *extra_args]

    def _pod(self) -> Manifest:
        spec: Manifest = self.workload["spec"]["template"]["spec"]
        return spec

    def _security(self) -> list[str]:
        pod = self._pod().get("securityContext", {})
        own = self.container.get("securityContext", {})
        user = own.get("runAsUser", pod.get("runAsUser"))
        group = own.get("runAsGroup", pod.get("runAsGroup"))
        out = [f"--user={user}:{group}"] if user is not None else []
        if own.get("readOnlyRootFilesystem"):
            out += ["--read-only", "--read-only-tmpfs=false"]  # only the chart's volumes write
        out += [f"--cap-drop={c.lower()}" for c in own.get("capabilities", {}).get("drop", [])]
        if own.get("allowPrivilegeEscalation") is False:
            out.append("--security-opt=no-new-privileges")
        return out

    def _mounts(self) -> list[str]:
        kinds = {v["name"]: v for v in self._pod().get("volumes", [])}
        out = []
        for mount in self.container.get("volumeMounts", []):
            name, path = mount["name"], mount["mountPath"]
            if "emptyDir" in kinds.get(name, {}):
                out.append(f"--tmpfs={path}:rw,mode=1777,size=256m")
                continue
            if name not in self.volumes:
                raise AssertionError(f"the test gives no host directory for volume {name}")
            ro = ":ro" if mount.get("readOnly") or "configMap" in kinds.get(name, {}) else ""
            out.append(f"--volume={self.volumes[name]}:{path}{ro}")
        return out

    def _entrypoint(self) -> list[str]:
        command = self.container.get("command")
        return [f"--entrypoint={json.dumps(command)}"] if command else []

    def _args(self) -> list[str]:
        return [str(a) for a in self.container.get("args", [])]

    def run_once(self, *extra_args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """A one-shot container (a Job's), removed when it exits."""
        return podman("run", "--rm", *self.options(), *self.argv(extra_args), timeout=timeout)

    def start(self, name: str) -> Started:
        done = podman("run", "--detach", f"--name={name}", *self.options(), *self.argv())
        assert done.returncode == 0, done.stderr
        return Started(name)

    def probe_url(self, probe: str) -> str:
        """The kubelet's URL for the container's readinessProbe or livenessProbe: its httpGet
        path on the port the probe names, which must be the port the process serves
        (METRICS_PORT); on the host network that is the port the test gave it."""
        get = self.container[probe]["httpGet"]
        ports = {p["name"]: p["containerPort"] for p in self.container.get("ports", [])}
        port = ports.get(get["port"], get["port"])
        chart_port = env_of(self.container, self.secrets)["METRICS_PORT"]
        assert str(port) == chart_port, f"{probe} asks port {port}, the process serves {chart_port}"
        return f"http://127.0.0.1:{self.env['METRICS_PORT']}{get['path']}"


@dataclass(frozen=True)
class Started:
    """A detached container; `stop` sends SIGTERM as Kubernetes does, then removes it."""

    name: str

    def running(self) -> bool:
        done = podman("inspect", "--format={{.State.Running}}", self.name)
        return done.stdout.strip() == "true"

    def logs(self) -> str:
        done = podman("logs", self.name)
        return (done.stdout + done.stderr)[-4000:]

    def stop(self) -> None:
        podman("stop", "--time=30", self.name, timeout=60)
        podman("rm", "--force", self.name)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
