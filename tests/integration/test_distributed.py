"""Distributed mode end to end: PostgreSQL catalog, Redis broker, real Celery worker processes, and a
shared index (the FAKE Qdrant REST server, since no Qdrant server can run here)."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Stack
from tests.support import DOCS, Api, kill_group, wait_until

pytestmark = pytest.mark.integration

TWENTY = [
    "fake-memo.pdf",
    "multi-column.pdf",
    "fake.docx",
    "docx-tables.docx",
    "fake-power-point.pptx",
    "stanley-cups.xlsx",
    "example-10k-1p.html",
    "factbook.xml",
    "simple.json",
    "stanley-cups.csv",
    "stanley-cups.tsv",
    "sample-README.md",
    "fake-email.eml",
    "fake-email.msg",
    "fake-doc.rtf",
    "simple.odt",
    "winter-sports.epub",
    "norwich-city.txt",
    "password.pdf",
    "empty.txt",
]


@pytest.fixture
def worker(stack: Stack) -> Iterator[Any]:
    proc = stack.start_worker(f"w{uuid.uuid4().hex[:4]}", concurrency=2, beat=True)
    yield proc
    kill_group(proc)


def _tenant(stack: Stack) -> Api:
    return stack.api.with_key(stack.api.create_tenant(f"t-{uuid.uuid4().hex[:6]}")["admin_key"])


@pytest.mark.timeout(1200)
def test_twenty_documents_of_different_formats_end_to_end(stack: Stack, worker: Any) -> None:
    api = _tenant(stack)
    docs = api.upload(*(DOCS / n for n in TWENTY))
    done = api.wait_done([d["id"] for d in docs], timeout=600)
    by_name = {d["filename"]: d for d in done.values()}
    assert set(by_name) == set(TWENTY)
    failed = {n: d["error"] for n, d in by_name.items() if d["status"] == "failed"}
    assert set(failed) == {"password.pdf", "empty.txt"}, failed
    assert all(len(reason) > 20 for reason in failed.values())
    assert by_name["multi-column.pdf"]["pages"] == 13

    hit = api.search("how many bottles of water and blankets were delivered", top_k=3)[0]
    assert (hit["filename"], hit["page"]) == ("fake-memo.pdf", 1)
    hits = api.search("Norwich City football club", top_k=5)
    assert hits[0]["filename"] == "norwich-city.txt"
    winter = api.search("winter sports skiing", top_k=5)
    assert any(h["filename"] == "winter-sports.epub" for h in winter)
    dpr = api.search("term-matching methods like BM25 are sensitive to highly selective keywords", top_k=3)[0]
    # The DPR paper says it twice: section 5.3 (page 7) and, nearly word for word, appendix C (page 12).
    assert (dpr["filename"], dpr["page"]) in {("multi-column.pdf", 7), ("multi-column.pdf", 12)}
    assert worker.poll() is None


@pytest.mark.timeout(2400)
def test_every_shared_document_goes_through_ingestion(stack: Stack, worker: Any) -> None:
    api = _tenant(stack)
    ids: dict[str, str] = {}
    refused: dict[str, str] = {}
    for path in sorted(DOCS.iterdir()):  # alphabetical: broken files sit between good ones
        r = api.post("/v1/documents", files=[("files", (path.name, path.read_bytes()))])
        if r.status_code == 202:
            ids[r.json()["documents"][0]["id"]] = path.name
        else:
            refused[path.name] = f"{r.status_code}: {r.json()['detail']}"
    assert refused == {"simple.zip": refused.get("simple.zip", "")} and refused["simple.zip"].startswith(
        "415"
    )
    done = api.wait_done(list(ids), timeout=1500)
    failed = {d["filename"]: d["error"] for d in done.values() if d["status"] == "failed"}
    ready = [d for d in done.values() if d["status"] == "ready"]
    assert len(ready) >= 75, failed
    for name, reason in failed.items():
        assert reason and len(reason) > 20 and "Traceback" not in reason, (name, reason)
    # Broken, encrypted and image-only files fail on their own, with the reason a user needs.
    assert "password" in failed["password.pdf"].lower()
    assert "password" in failed["password_protected.xlsx"].lower()
    assert "ocr" in failed["example.jpg"].lower()
    assert all(d["chunks"] and d["chunks"] > 0 for d in ready)
    assert worker.poll() is None, "the worker died"
    # …and the tenant carries on: a document uploaded after all that is ingested.
    after = api.upload_text("Uploaded after the broken ones: the heron counts 31 fish.", title="heron")
    assert api.wait_done([after["id"]], timeout=120)[after["id"]]["status"] == "ready"


@pytest.mark.timeout(1200)
def test_kill_9_of_a_busy_worker_loses_nothing_and_duplicates_nothing(stack: Stack) -> None:
    api = _tenant(stack)
    first = stack.start_worker("doomed", concurrency=1)
    try:
        texts = [
            "\n\n".join(
                f"Section {j} of report {i}: the committee reviewed item {i}-{j} at length. " * 8
                for j in range(40)
            )
            for i in range(10)
        ]
        docs = [api.upload_text(t, title=f"report {i}") for i, t in enumerate(texts)]
        ids = [d["id"] for d in docs]

        def busy() -> bool:
            return any(api.get(f"/v1/documents/{i}").json()["status"] == "processing" for i in ids)

        wait_until(busy, 120, "the worker to start ingesting")
        kill_group(first, signal.SIGKILL)
        assert first.returncode == -signal.SIGKILL
    finally:
        kill_group(first, signal.SIGKILL)
    statuses = [api.get(f"/v1/documents/{i}").json()["status"] for i in ids]
    assert "ready" not in statuses or statuses.count("ready") < 10

    second = stack.start_worker("rescuer", concurrency=2, beat=True)
    try:
        done = api.wait_done(ids, timeout=600)
    finally:
        kill_group(second)
    assert {d["status"] for d in done.values()} == {"ready"}
    index = stack.runtime.index
    tenant_id = api.get("/v1/me").json()["tenant_id"]
    for doc_id, doc in done.items():
        assert doc["chunks"] > 1
        assert index.count_document(tenant_id, doc_id) == doc["chunks"]
