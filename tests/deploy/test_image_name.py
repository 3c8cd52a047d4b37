"""The chart and `make image` agree on the image: every container the chart renders on its
defaults names the image deploy/image/build.sh tags, whose tag is the version of the code inside.
(`make test-image` runs that image as the chart does: tests/image/check_image.py.)"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.deploy.helm import CHART, REPO, Helm, every_container, helm_binary, manifests

BUILD = REPO / "deploy" / "image" / "build.sh"


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(helm_binary(), tmp_path_factory.mktemp("helm-home"))


def built_image_name() -> str:
    done = subprocess.run(
        [str(BUILD), "name"], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


def test_given_the_charts_defaults_when_rendered_then_every_container_runs_the_image_make_image_tags(
    helm: Helm, tmp_path: Path
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"dashboard": {"enabled": True}}), encoding="utf-8")
    rendered = helm.template(values)
    assert rendered.returncode == 0, rendered.stderr

    images = {c["image"] for _, c in every_container(manifests(rendered.stdout))}

    assert images == {built_image_name()}


def test_given_the_image_tag_when_compared_then_it_is_the_version_of_the_code_it_holds() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    assert built_image_name() == f"gather-sync:{chart['appVersion']}"
    assert chart["appVersion"] == project["version"]
