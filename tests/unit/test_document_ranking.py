"""Document-aware chunk ranking: a chunk's score is RRF over its own rank and its document's rank."""

from __future__ import annotations

from typing import Any

from enclave.index.base import CHUNKS, DOCUMENTS, RRF_K, Hit
from enclave.index.sparse import SparseVector
from enclave.search.service import ranked_chunks
from enclave.tenancy.access import AccessFilter


class RecordingIndex:
    """Test double of the index's query method: fixed answers per level, and a log of the calls."""

    def __init__(self, chunks: list[tuple[str, str]], documents: list[str]) -> None:
        self.chunks = [Hit(id=cid, score=0.0, payload={"document_id": doc}) for cid, doc in chunks]
        self.documents = [Hit(id=f"d-{d}", score=0.0, payload={"document_id": d}) for d in documents]
        self.calls: list[dict[str, Any]] = []

    def hybrid_query(
        self, dense, sparse, access, limit, candidates, with_dense=False, level=CHUNKS, fields=None
    ):  # type: ignore[no-untyped-def]
        self.calls.append({"level": level, "limit": limit, "access": access})
        source = self.chunks if level == CHUNKS else self.documents
        return [Hit(h.id, h.score, dict(h.payload)) for h in source[:limit]]


ACCESS = AccessFilter(tenant_id="t1", tokens=("tenant",), collection=None)
Q = ([0.1, 0.2], SparseVector([1], [1.0]))


def test_a_chunk_of_the_most_relevant_document_overtakes_near_ranked_chunks_of_others() -> None:
    # chunk ranks: c1 (doc B) … c4 (doc A); documents: A first, B far down
    index = RecordingIndex(
        [("c1", "B"), ("c2", "C"), ("c3", "B"), ("c4", "A")], ["A", "D", "E", "F", "G", "H", "C", "B"]
    )
    hits = ranked_chunks(index, *Q, ACCESS, limit=3, candidates=100, document_weight=1.0)
    assert [h.id for h in hits] == ["c4", "c1", "c2"]
    assert abs(hits[0].score - (1 / (RRF_K + 4) + 1 / (RRF_K + 1))) < 1e-12
    assert abs(hits[1].score - (1 / (RRF_K + 1) + 1 / (RRF_K + 8))) < 1e-12
    # both levels are queried under the caller's access filter, the chunk pool larger than the page
    assert [(c["level"], c["access"]) for c in index.calls] == [(CHUNKS, ACCESS), (DOCUMENTS, ACCESS)]
    assert index.calls[0]["limit"] == 50


def test_a_chunk_whose_document_is_not_ranked_keeps_only_its_own_score() -> None:
    index = RecordingIndex([("c1", "B"), ("c2", "A")], ["A"])
    hits = ranked_chunks(index, *Q, ACCESS, limit=2, candidates=100, document_weight=1.0)
    assert [h.id for h in hits] == ["c2", "c1"]
    assert abs(hits[1].score - 1 / (RRF_K + 1)) < 1e-12


def test_weight_zero_is_the_plain_chunk_query() -> None:
    index = RecordingIndex([("c1", "B"), ("c2", "A")], ["A"])
    hits = ranked_chunks(index, *Q, ACCESS, limit=2, candidates=100, document_weight=0.0)
    assert [h.id for h in hits] == ["c1", "c2"]
    assert [c["level"] for c in index.calls] == [CHUNKS]
