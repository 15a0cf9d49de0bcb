"""`enclave serve` as a user runs it: one process, no Redis, create tenant → upload → ready → search."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from tests.conftest import Server
from tests.support import DOCS, OPERATOR_KEY, REPO, Api


def test_serve_from_scratch_without_redis(embedded_server: Server) -> None:
    with httpx.Client(base_url=embedded_server.url, timeout=60) as http:
        api = Api(http, None)
        ready = http.get("/readyz").json()
        assert ready["status"] == "ready", ready
        admin = api.with_key(api.create_tenant("serve-test")["admin_key"])
        doc = admin.upload(DOCS / "fake-memo.pdf")[0]
        done = admin.wait_done([doc["id"]], timeout=180)[doc["id"]]
        assert done["status"] == "ready" and done["pages"] == 1
        hit = admin.search("bottles of water and blankets delivered")[0]
        assert (hit["document_id"], hit["filename"], hit["page"]) == (doc["id"], "fake-memo.pdf", 1)
    log = embedded_server.log.read_text(errors="replace")
    assert "embedded mode" in log
    assert OPERATOR_KEY not in log  # secrets never reach the logs


def test_cli_bootstraps_a_tenant_and_key_without_http(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"ENCLAVE_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> dict:
        out = subprocess.run(
            [sys.executable, "-m", "boot.cli", "admin", *args],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    tenant = run("create-tenant", "cli-co")
    assert tenant["name"] == "cli-co" and tenant["admin_key"].startswith("enc_")
    key = run("create-key", "--tenant", tenant["id"], "--role", "reader")
    assert key["role"] == "reader" and key["key"].startswith("enc_")

    from enclave.catalog.db import Catalog
    from enclave.tenancy.keys import KeyService

    keys = KeyService(Catalog(f"sqlite:///{tmp_path / 'enclave.db'}"), None)
    principal = keys.authenticate(key["key"])
    assert principal.tenant_id == tenant["id"] and principal.role.value == "reader"
