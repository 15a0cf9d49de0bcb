"""Faults of the distributed stack (PostgreSQL, Redis, real Celery worker processes, the FAKE Qdrant REST
server): a worker killed with kill -9 in the middle of parsing a file, and the index unreachable for
30 s. Each case checks that no document is lost or duplicated (catalog status and index point counts
against the chunk counts) and that documents uploaded after the fault succeed."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.conftest import Stack
from tests.faults.proxy import CuttableProxy
from tests.faults.record import record
from tests.support import DOCS, Api, kill_group, wait_until

pytestmark = pytest.mark.integration


def _tenant(stack: Stack) -> Api:
    api = stack.api.with_key(stack.api.create_tenant(f"f-{uuid.uuid4().hex[:6]}")["admin_key"])
    api.tenant_id = api.get("/v1/me").json()["tenant_id"]  # type: ignore[attr-defined]
    return api


def _check(stack: Stack, api: Api, done: dict[str, dict[str, Any]]) -> tuple[int, int]:
    """(lost, duplicated): documents not ready, and documents whose index holds more points than chunks."""
    lost = sum(1 for d in done.values() if d["status"] != "ready")
    dup = sum(
        1
        for doc_id, d in done.items()
        if d["status"] == "ready" and stack.runtime.index.count_document(api.tenant_id, doc_id) != d["chunks"]  # type: ignore[attr-defined]
    )
    return lost, dup


@pytest.fixture
def workers(stack: Stack) -> Iterator[list[Any]]:
    procs: list[Any] = []
    yield procs
    for p in procs:
        kill_group(p, signal.SIGKILL)


@pytest.mark.timeout(900)
def test_kill_9_of_a_worker_mid_parse(stack: Stack, workers: list[Any]) -> None:
    api = _tenant(stack)
    workers.append(stack.start_worker(f"doomed{uuid.uuid4().hex[:4]}", concurrency=1))
    name = "handbook-872p.docx"
    big = api.post("/v1/documents", files=[("files", (name, (DOCS / name).read_bytes()))]).json()
    big_id = big["documents"][0]["id"]
    small = [
        api.upload_text(f"Memo {i}: the boathouse roof needs {i} new slates.", title=f"memo {i}")
        for i in range(5)
    ]
    ids = [big_id, *[d["id"] for d in small]]

    wait_until(lambda: api.get(f"/v1/documents/{big_id}").json()["status"] == "processing", 180, "the parse")
    time.sleep(3)  # well inside the parse (about 40 s here)
    kill_group(workers[0], signal.SIGKILL)
    t0 = time.monotonic()
    workers.append(stack.start_worker(f"rescuer{uuid.uuid4().hex[:4]}", concurrency=2, beat=True))
    done = api.wait_done(ids, timeout=700)
    lost, dup = _check(stack, api, done)
    record("worker kill -9 mid-parse", len(ids), lost, dup, time.monotonic() - t0, "distributed")
    assert (lost, dup) == (0, 0), {d["filename"]: (d["status"], d["error"]) for d in done.values()}
    assert done[big_id]["chunks"] > 100
    after = api.upload_text("After the kill: the slipway was repaired.", title="slipway")
    assert api.wait_done([after["id"]], timeout=120)[after["id"]]["status"] == "ready"


@pytest.mark.timeout(900)
def test_the_index_unreachable_for_30_s(stack: Stack, fake_qdrant: str, workers: list[Any]) -> None:
    api = _tenant(stack)
    target = urlparse(fake_qdrant)
    proxy = CuttableProxy(target.hostname or "127.0.0.1", target.port or 6333)
    try:
        workers.append(
            stack.start_worker(
                f"cut{uuid.uuid4().hex[:4]}",
                concurrency=2,
                ENCLAVE_QDRANT_URL=proxy.url,
                ENCLAVE_TASK_MAX_RETRIES="8",
            )
        )
        warm = api.upload_text("Before the outage: the quay lights are green.", title="quay")
        assert api.wait_done([warm["id"]], timeout=180)[warm["id"]]["status"] == "ready"
        proxy.cut()
        t0 = time.monotonic()
        body = [
            {"title": f"log {i}", "text": f"Harbour log {i}: {i} boats came in. " * 60} for i in range(24)
        ]
        ids = [d["id"] for d in api.post("/v1/documents/text", json=body).json()["documents"]]
        wait_until(
            lambda: any("Retrying" in (api.get(f"/v1/documents/{i}").json()["error"] or "") for i in ids),
            60,
            "a retried index fault",
        )
        time.sleep(max(0.0, 30 - (time.monotonic() - t0)))
        proxy.restore()
        back = time.monotonic()
        done = api.wait_done(ids, timeout=600)
        lost, dup = _check(stack, api, done)
        record("index unreachable for 30 s", len(ids), lost, dup, time.monotonic() - back, "distributed")
        assert (lost, dup) == (0, 0), [d["error"] for d in done.values() if d["status"] != "ready"]
        after = api.upload_text("After the outage: the quay lights are red.", title="quay 2")
        assert api.wait_done([after["id"]], timeout=120)[after["id"]]["status"] == "ready"
    finally:
        proxy.close()
