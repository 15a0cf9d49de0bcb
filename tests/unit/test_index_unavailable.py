"""A Qdrant server that cannot be reached, or answers a server-side fault, is `IndexUnavailable` from every
call of QdrantServerIndex; a fault of the request itself (404, other 4xx) is not."""

from __future__ import annotations

import json
import pickle
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from qdrant_client.http.exceptions import UnexpectedResponse

from enclave.index.base import ChunkPoint
from enclave.index.errors import IndexUnavailable
from enclave.index.qdrant_server import QdrantServerIndex
from enclave.index.sparse import SparseVector
from enclave.tenancy.access import AccessFilter

POINT = ChunkPoint("00000000-0000-0000-0000-000000000001", [1.0, 0.0], SparseVector([1], [1.0]), {})
QUERY = ([1.0, 0.0], SparseVector([1], [1.0]), AccessFilter("t", ("x",)), 5, 5)
CALLS: dict[str, Callable[[QdrantServerIndex], object]] = {
    "ensure_collection": lambda ix: ix.ensure_collection(2),
    "upsert": lambda ix: ix.upsert([POINT]),
    "delete_document": lambda ix: ix.delete_document("t", "d"),
    "count_document": lambda ix: ix.count_document("t", "d"),
    "hybrid_query": lambda ix: ix.hybrid_query(*QUERY),
    "ping": lambda ix: ix.ping(),
}


@contextmanager
def answering(status: int, retry_after: str | None = None) -> Iterator[str]:
    """A stand-in Qdrant that answers every request with `status` and a Qdrant-style error body."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = json.dumps({"status": {"error": f"answering {status}"}, "time": 0.0}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            if retry_after:
                self.send_header("retry-after", retry_after)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("call", sorted(CALLS))
def test_every_call_on_a_server_where_nothing_listens_is_index_unavailable(call: str) -> None:
    index = QdrantServerIndex("docs", url="http://127.0.0.1:9")
    try:
        with pytest.raises(IndexUnavailable) as err:
            CALLS[call](index)
    finally:
        index.close()
    assert err.value.backend == "qdrant"
    assert err.value.__cause__ is not None  # chained: the original fault stays in the traceback
    assert "Check that it is running" in str(err.value)


@pytest.mark.parametrize("status", [500, 502, 503, 429])
@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_server_side_fault_is_index_unavailable(status: int, call: str) -> None:
    with answering(status) as url:
        index = QdrantServerIndex("docs", url=url)
        try:
            with pytest.raises(IndexUnavailable, match=f"HTTP {status}") as err:
                CALLS[call](index)
        finally:
            index.close()
    assert isinstance(err.value.__cause__, UnexpectedResponse)


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_rate_limited_answer_with_retry_after_is_index_unavailable(call: str) -> None:
    # qdrant-client raises its own ResourceExhaustedResponse (not UnexpectedResponse) for this one
    with answering(429, retry_after="3") as url:
        index = QdrantServerIndex("docs", url=url)
        try:
            with pytest.raises(IndexUnavailable, match="retry after 3 s"):
                CALLS[call](index)
        finally:
            index.close()


@pytest.mark.parametrize("status", [404, 400, 403])
@pytest.mark.parametrize("call", ["count_document", "hybrid_query", "upsert"])
def test_a_fault_of_the_request_is_not_index_unavailable(status: int, call: str) -> None:
    with answering(status) as url:
        index = QdrantServerIndex("docs", url=url)
        try:
            with pytest.raises(UnexpectedResponse) as err:
                CALLS[call](index)
        finally:
            index.close()
    assert err.value.status_code == status


def test_index_unavailable_survives_pickling_between_processes() -> None:
    copy = pickle.loads(pickle.dumps(IndexUnavailable("qdrant", "connection refused")))
    assert (copy.backend, copy.reason) == ("qdrant", "connection refused")
    assert str(copy) == str(IndexUnavailable("qdrant", "connection refused"))
