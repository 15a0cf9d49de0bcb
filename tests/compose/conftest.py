"""The Compose stack that scripts/compose_test.sh started: its URL, its .env, and docker compose to drive
faults. Outside that script these tests are skipped (they need the stack)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

URL = os.environ.get("COMPOSE_TEST_URL", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Outside scripts/compose_test.sh there is no stack: these tests are skipped, saying why. (A
    `pytestmark` in a conftest would not reach the test modules.)"""
    if URL:
        return
    skip = pytest.mark.skip(reason="needs the stack of scripts/compose_test.sh (make compose-test)")
    for item in items:
        if item.nodeid.startswith("tests/compose/"):
            item.add_marker(skip)


def _env(path: str) -> dict[str, str]:
    out = {}
    for line in Path(path).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


@dataclass
class Stack:
    url: str
    env: dict[str, str]
    compose: list[str]

    def run(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.compose, *args], capture_output=True, text=True, timeout=timeout, check=check
        )

    def docker(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/usr/bin/docker", *args], capture_output=True, text=True, timeout=timeout, check=check
        )

    def containers(self) -> list[dict[str, Any]]:
        out = self.run("ps", "-a", "--format", "json").stdout.strip()
        if not out:
            return []
        if out.startswith("["):
            return json.loads(out)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def container_ids(self, service: str) -> list[str]:
        return self.run("ps", "-q", service).stdout.split()

    def client(self, key: str | None = None, timeout: float = 60) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)


def unhealthy(containers: list[dict[str, Any]]) -> list[str]:
    """Services not (yet) where they should be: running and healthy, or (migrate) exited with 0."""
    bad = []
    for c in containers:
        if c["Service"] == "migrate":
            if not (c["State"] == "exited" and "(0)" in c.get("Status", "")):
                bad.append(f"migrate: {c['State']} {c.get('Status')}")
        elif c["State"] != "running" or c.get("Health") not in ("healthy", ""):
            bad.append(f"{c['Service']}: {c['State']} {c.get('Health')}")
        elif c.get("Health") == "":
            bad.append(f"{c['Service']}: running without a healthcheck")
    return bad


def wait_healthy(stack: Stack, timeout: float = 600) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        containers = stack.containers()
        bad = unhealthy(containers)
        if containers and not bad:
            return containers
        if time.monotonic() > deadline:
            raise AssertionError(f"not healthy after {timeout:.0f}s: {bad}")
        time.sleep(3)


@pytest.fixture(scope="session")
def stack() -> Stack:
    s = Stack(URL, _env(os.environ["COMPOSE_TEST_ENV_FILE"]), shlex.split(os.environ["COMPOSE_TEST_CMD"]))
    t0 = time.monotonic()
    wait_healthy(s)
    print(f"\nstack healthy {time.monotonic() - t0:.0f}s after the tests started waiting")
    return s


@pytest.fixture(scope="session")
def admin_key(stack: Stack) -> str:
    with stack.client(stack.env["ENCLAVE_OPERATOR_KEY"]) as http:
        r = http.post("/v1/admin/tenants", json={"name": f"compose-{time.time_ns()}"})
        assert r.status_code == 201 or r.status_code == 200, r.text
        return r.json()["admin_key"]


def wait_done(http: httpx.Client, ids: list[str], timeout: float = 600) -> dict[str, dict[str, Any]]:
    ids = list(dict.fromkeys(ids))
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        for i in ids:
            if i not in done:
                d = http.get(f"/v1/documents/{i}").json()
                if d["status"] in ("ready", "failed"):
                    done[i] = d
        if len(done) == len(ids):
            return done
        time.sleep(1)
    raise AssertionError(f"{len(ids) - len(done)} documents not finished after {timeout:.0f}s")
