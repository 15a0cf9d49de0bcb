"""Distributed mode with the embedder as its own service: worker and gateway embed over HTTP, a dead
embedder gives a clear, retried error, and nothing is lost when it comes back."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Stack
from tests.procs import embedder_process, free_port
from tests.support import Api, kill_group, wait_until

pytestmark = pytest.mark.integration


def test_embedder_outage_is_retried_and_recovered_without_losing_a_document(stack: Stack) -> None:
    from boot.assembly import Mode, build_runtime
    from enclave.settings import Settings
    from gateway.app import create_app

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    env = {**stack.env, "ENCLAVE_EMBEDDER_URL": url, "ENCLAVE_MODEL_TIMEOUT_S": "5"}
    settings = Settings(**{k.removeprefix("ENCLAVE_").lower(): v for k, v in env.items()})
    rt = build_runtime(settings, Mode.GATEWAY)
    worker = None
    try:
        http = TestClient(create_app(rt))
        api = Api(http, None)
        api = api.with_key(api.create_tenant("http-embedder")["admin_key"])
        with embedder_process(port=port):
            worker = stack.start_worker(f"http{uuid.uuid4().hex[:4]}", concurrency=1, **env)
            first = api.upload_text("Embedded over HTTP: the ferry leaves at 6:40.", title="ferry")
            assert api.wait_done([first["id"]], timeout=180)[first["id"]]["status"] == "ready"
            assert api.search("when does the ferry leave")[0]["document_id"] == first["id"]

        # The embedder is down now.
        second = api.upload_text("Written during the outage: the lighthouse is painted red.", title="light")

        def retrying() -> bool:
            doc = api.get(f"/v1/documents/{second['id']}").json()
            return doc["status"] == "queued" and "Retrying" in (doc["error"] or "")

        wait_until(retrying, 120, "the worker to report a retried embedder error")
        doc = api.get(f"/v1/documents/{second['id']}").json()
        assert "embedding service" in doc["error"] and "unavailable" in doc["error"]
        r = api.post("/v1/search", json={"query": "ferry"})
        assert r.status_code == 503 and "embedding service" in r.json()["detail"]

        with embedder_process(port=port):
            done = api.wait_done([second["id"]], timeout=300)[second["id"]]
            assert done["status"] == "ready", done
            assert api.search("what colour is the lighthouse")[0]["document_id"] == second["id"]
            assert api.get(f"/v1/documents/{first['id']}").json()["status"] == "ready"
    finally:
        if worker is not None:
            kill_group(worker)
        rt.close()
