"""The real Kafka broker and PostgreSQL server the tests run against.

Order of preference: the user's own (KAFKA_BOOTSTRAP_SERVERS, GATHER_DATABASE_URL); else the
project's local processes (deploy/local/*.sh, needing Java and Debian's postgresql); else, on a
machine with a Docker engine but no Java, testcontainers. A service that cannot be had is an
error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "deploy" / "local"


class ServiceUnavailable(RuntimeError):
    """A real service the tests need could not be started or reached."""


def _run_script(script: str, variable: str) -> str:
    try:
        done = subprocess.run(
            [str(LOCAL / script), "start"], capture_output=True, text=True, timeout=600, check=True
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        raise ServiceUnavailable(f"deploy/local/{script} start failed:\n{detail}") from e
    for line in done.stdout.splitlines():
        if line.startswith(f"{variable}="):
            return line.split("=", 1)[1]
    raise ServiceUnavailable(f"deploy/local/{script} printed no {variable}=...")


def _docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    return probe.returncode == 0


def kafka_bootstrap_servers() -> str:
    if servers := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return servers
    if shutil.which("java") is None and _docker_engine():
        from testcontainers.kafka import KafkaContainer  # only where Docker is the way

        container = KafkaContainer().with_kraft()
        container.start()
        return str(container.get_bootstrap_server())
    return _run_script("kafka.sh", "KAFKA_BOOTSTRAP_SERVERS")


def postgres_url() -> str:
    if url := os.environ.get("GATHER_DATABASE_URL"):
        if not url.startswith("postgresql"):
            raise ServiceUnavailable(f"GATHER_DATABASE_URL is not PostgreSQL: {url}")
        return url
    if (
        shutil.which("initdb") is None
        and not Path("/usr/lib/postgresql").exists()
        and _docker_engine()
    ):
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16", driver="psycopg")
        container.start()
        return str(container.get_connection_url())
    return _run_script("postgres.sh", "GATHER_DATABASE_URL")
