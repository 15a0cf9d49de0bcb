"""The application image installs every package the project ships: a package missing from the Dockerfile's
COPY lines installs fine and fails only when a container imports it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_image_copies_every_package_the_project_installs() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.removesuffix("*") for p in patterns}
    assert {"enclave", "gateway", "ingest", "boot"} <= packages
    copied = set(re.findall(r"^COPY ([a-z_]+)/ \1/$", (REPO / "Dockerfile").read_text(), re.M))
    missing = packages - copied
    assert not missing, f"the Dockerfile does not COPY {sorted(missing)} into the image"
