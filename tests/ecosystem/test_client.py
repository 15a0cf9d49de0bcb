"""The typed Python client (`enclave_client`) against a running `enclave serve`, and its retries against a
FAKE overloaded server (a loopback HTTP server that answers 503 first)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from enclave_client import APIError, ConnectionFailed, EnclaveClient, RetryPolicy
from tests.ecosystem.conftest import QUESTION, TenantKeys
from tests.support import REPO


def test_records_search_delete_and_keys(fresh_tenant: TenantKeys) -> None:
    collection = f"notes-{uuid.uuid4().hex[:6]}"
    with EnclaveClient(fresh_tenant.url, fresh_tenant.member_key) as member:
        doc = member.upload_records(
            [{"title": "otters", "text": "Sea otters hold hands while they sleep.", "collection": collection}]
        )[0]
        assert member.wait_until_ready([doc.id], timeout=120)[doc.id].status == "ready"
        hits = member.search("otters holding hands", collection=collection, top_k=3)
        assert hits[0].document_id == doc.id and hits[0].collection == collection
        assert [d.id for d in member.list_documents(collection=collection).documents] == [doc.id]
        member.delete_document(doc.id)
        with pytest.raises(APIError) as gone:
            member.get_document(doc.id)
        assert gone.value.status == 404 and gone.value.detail == "No document with that id."
    with EnclaveClient(fresh_tenant.url, fresh_tenant.admin_key) as admin:
        key = admin.create_key("reader", "client-test")
        assert key.key and key.id in {k.id for k in admin.list_keys()}
        admin.revoke_key(key.id)
    with EnclaveClient(fresh_tenant.url, key.key) as revoked, pytest.raises(APIError) as refused:
        revoked.me()
    assert refused.value.status == 401


def test_a_streamed_answer_ends_with_its_citations(tenant_a: TenantKeys) -> None:
    with EnclaveClient(tenant_a.url, tenant_a.member_key) as client:
        events = list(client.ask_stream(QUESTION, max_tokens=48))
    pieces = [e.text for e in events if e.text]
    answer = events[-1].answer
    assert pieces and answer is not None and answer.text == "".join(pieces)
    assert (answer.citations[0].document_id, answer.citations[0].page) == (tenant_a.memo_id, 1)


def test_enclave_ask_prints_the_answer_then_its_sources(tenant_a: TenantKeys) -> None:
    env = {**os.environ, "ENCLAVE_API_KEY": tenant_a.member_key, "HF_HUB_OFFLINE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "boot.cli", "ask", QUESTION, "--url", tenant_a.url, "--max-tokens", "48"],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=300,
    )
    out = run.stdout.decode()
    assert run.returncode == 0, run.stderr.decode()
    answer, _, sources = out.partition("Sources:")
    assert answer.strip() and f"fake-memo.pdf, page 1  (document {tenant_a.memo_id})" in sources


class _Overloaded(BaseHTTPRequestHandler):
    """FAKE gateway: the first request of each path gets 503 with Retry-After: 1, later ones succeed."""

    seen: dict[str, int] = {}

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        n = self.seen[self.path] = self.seen.get(self.path, 0) + 1
        if n == 1 or self.path == "/v1/always-busy":
            body, status, extra = {"detail": "Too busy; try again shortly."}, 503, {"Retry-After": "1"}
        else:
            hit = {"document_id": "d1", "filename": "f.pdf", "page": 2, "score": 0.5, "text": "t", "chunk": 0}
            body, status, extra = {"results": [hit]}, 200, {}
        data = json.dumps(body).encode()
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)), **extra}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def overloaded() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Overloaded)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_503_is_retried_after_the_servers_retry_after(overloaded: str) -> None:
    with EnclaveClient(overloaded, "enc_a_b") as client:
        started = time.monotonic()
        hits = client.search("anything")
    assert hits[0].page == 2 and time.monotonic() - started >= 1.0
    assert _Overloaded.seen["/v1/search"] == 2


def test_retries_end_with_the_servers_sentence_or_a_connection_error(overloaded: str) -> None:
    from enclave_client.calls import Call

    client = EnclaveClient(overloaded, "k", retry=RetryPolicy(attempts=2, max_wait_s=0.1))
    with client, pytest.raises(APIError) as busy:
        client.send(Call("POST", "/v1/always-busy", lambda r: r, json={}))
    assert busy.value.status == 503 and busy.value.detail == "Too busy; try again shortly."
    assert _Overloaded.seen["/v1/always-busy"] == 2
    down = EnclaveClient("http://127.0.0.1:9", "k", retry=RetryPolicy(attempts=2, backoff_s=0.01))
    with down, pytest.raises(ConnectionFailed, match="Could not reach Enclave"):
        down.search("x")
