"""The Dockerfile, read as its instructions: what it copies exists, it installs the locked
dependencies with the Makefile's uv, and runs as a non-root user. `make test-image` builds it and
runs it as the chart does (tests/image)."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from typing import Any

import pytest

from tests.deploy.helm import REPO

Instruction = tuple[str, str]


def instructions() -> list[Instruction]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            out.append((keyword.upper(), args.strip()))
    return out


def stage(index: int) -> list[Instruction]:
    """The instructions of one build stage (the global ARGs before the first FROM are none's)."""
    stages: list[list[Instruction]] = []
    for keyword, args in instructions():
        if not stages and keyword != "FROM":
            continue
        if keyword == "FROM":
            stages.append([])
        stages[-1].append((keyword, args))
    return stages[index]


def copied_sources(instructions: list[Instruction]) -> list[str]:
    """Every source path of the COPY instructions that read the build context."""
    copies = [shlex.split(args) for keyword, args in instructions if keyword == "COPY"]
    return [src for words in copies if not words[0].startswith("--") for src in words[:-1]]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_given_the_dockerfile_when_read_then_both_stages_start_from_base_image_python_3_11_slim() -> (
    None
):
    froms = [args for keyword, args in instructions() if keyword == "FROM"]
    global_args = [
        args for keyword, args in instructions()[: instructions().index(("FROM", froms[0]))]
    ]

    assert global_args == ["BASE_IMAGE=python:3.11-slim"]
    assert [f.split()[0] for f in froms] == ["${BASE_IMAGE}", "${BASE_IMAGE}"]


def test_given_the_build_stage_when_read_then_every_copied_path_exists_in_the_repo() -> None:
    sources = [
        src for keyword, args in stage(0) if keyword == "COPY" for src in shlex.split(args)[:-1]
    ]

    assert sources, "the build stage copies nothing"
    missing = [src for src in sources if not (REPO / src).exists()]
    assert missing == []


def test_given_the_build_stage_when_read_then_it_copies_every_package_the_wheel_declares() -> None:
    packages = pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    copied = set(copied_sources(stage(0)))

    assert set(packages) <= copied
    assert {"pyproject.toml", "uv.lock", pyproject()["project"]["readme"]} <= copied


def test_given_the_build_stage_when_read_then_uv_is_the_makefiles_and_syncs_the_frozen_lock() -> (
    None
):
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    pinned = re.search(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    runs = [args for keyword, args in stage(0) if keyword == "RUN"]
    args = dict(a.split("=", 1) for k, a in stage(0) if k == "ARG")

    assert pinned is not None
    assert args["UV_VERSION"] == pinned.group(1)
    assert (
        runs[0]
        == 'python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir "uv==${UV_VERSION}"'
    )
    syncs = [r for r in runs if r.startswith("/opt/uv/bin/uv sync")]
    assert syncs and all("--frozen --no-dev" in r for r in syncs)


def test_given_the_final_stage_when_read_then_it_runs_gather_sync_as_a_non_root_user() -> None:
    final = stage(-1)
    user = [args for keyword, args in final if keyword == "USER"]
    (entrypoint,) = [json.loads(args) for keyword, args in final if keyword == "ENTRYPOINT"]

    assert len(user) == 1 and user[0].split(":")[0] not in {"0", "root"}
    assert any(
        k == "RUN" and "useradd" in a and f"--uid {user[0].split(':')[0]}" in a for k, a in final
    )
    assert entrypoint == ["gather-sync"]
    assert "gather-sync" in pyproject()["project"]["scripts"]


@pytest.mark.parametrize("port", [9100, 8080])
def test_given_the_final_stage_when_read_then_it_exposes_the_charts_ports(port: int) -> None:
    exposed = [args.split() for keyword, args in stage(-1) if keyword == "EXPOSE"]

    assert str(port) in [p for group in exposed for p in group]
