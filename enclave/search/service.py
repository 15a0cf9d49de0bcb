"""Hybrid search: dense + BM25-style sparse retrieval, fused per query (or by RRF), under the caller's
access filter."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from enclave import tracing
from enclave.audit.service import AuditLog
from enclave.errors import Invalid
from enclave.index.base import CHUNKS, DENSE, DOCUMENTS, RRF_K, SPARSE, Hit, VectorIndex
from enclave.index.sparse import SparseEncoder, SparseVector
from enclave.inference.embeddings import Embedder
from enclave.search.fusion import FusionWeights, adaptive_fusion
from enclave.tenancy.access import AccessFilter, vector_filter
from enclave.tenancy.principal import Principal

FUSIONS = ("adaptive", "rrf", "dense", "sparse")  # adaptive: enclave/search/fusion.py; rrf: the engine's


def fused_hits(
    index: VectorIndex,
    fusion: str,
    query: tuple[list[float], SparseVector],
    access: AccessFilter,
    limit: int,
    candidates: int,
    with_dense: bool = False,
    level: str = CHUNKS,
    fields: list[str] | None = None,
) -> list[Hit]:
    """One level's candidates, best first, by `fusion`: the engine's RRF of both retrievers, the adaptive
    fusion of their scored lists, or one retriever alone. Every list comes from the index under `access`."""
    dense, sparse = query
    if fusion == "rrf":
        return index.hybrid_query(dense, sparse, access, limit, candidates, with_dense, level, fields)
    lists = index.ranked_lists(dense, sparse, access, candidates, with_dense, level, fields)
    by_id = {h.id: h for h in lists.get(SPARSE, []) + lists.get(DENSE, [])}
    scored = {k: [(h.id, h.score) for h in v] for k, v in lists.items()}
    if fusion == "adaptive":
        order = adaptive_fusion(scored.get(DENSE, []), scored.get(SPARSE, []), FusionWeights())
    else:
        order = scored.get(DENSE if fusion == "dense" else SPARSE, [])
    out = []
    for pid, score in order[:limit]:
        hit = by_id[pid]
        hit.score = score
        out.append(hit)
    return out


def ranked_chunks(
    index: VectorIndex,
    dense: list[float],
    sparse: SparseVector,
    access: AccessFilter,
    limit: int,
    candidates: int,
    document_weight: float,
    with_dense: bool = False,
    fusion: str = "rrf",
) -> list[Hit]:
    """Hybrid chunk retrieval, re-ranked with document-level relevance.

    The chunk query (dense + BM25 sparse, fused by `fusion`) gives a pool of chunks; the document query
    ranks whole documents the same way (centroid embedding, whole-text BM25). A chunk's final score is RRF
    over both: 1/(k + its rank) + w/(k + its document's rank). A passage that matches the words of a
    question but sits in a document about something else (another company, another product) falls behind
    one from the document the question is about. w = 0 turns this off.
    """
    query = (dense, sparse)
    # Outside the engine's RRF, candidates carry only their document id; the payloads (and dense vectors)
    # of the chunks returned are read at the end, by id, for those alone.
    fields = None if fusion == "rrf" else ["document_id"]
    pool = fused_hits(
        index,
        fusion,
        query,
        access,
        max(limit, candidates // 2) if document_weight > 0 else limit,
        candidates,
        with_dense and fusion == "rrf",
        fields=fields,
    )
    if document_weight <= 0:
        return _with_payloads(index, pool, fusion, with_dense)
    docs = fused_hits(
        index, fusion, query, access, candidates, candidates, level=DOCUMENTS, fields=["document_id"]
    )
    doc_rank = {h.payload.get("document_id"): rank for rank, h in enumerate(docs, start=1)}
    for rank, hit in enumerate(pool, start=1):
        d = doc_rank.get(hit.payload.get("document_id"))
        hit.score = 1 / (RRF_K + rank) + (document_weight / (RRF_K + d) if d else 0.0)
    return _with_payloads(index, sorted(pool, key=lambda h: -h.score)[:limit], fusion, with_dense)


def _with_payloads(index: VectorIndex, hits: list[Hit], fusion: str, with_dense: bool) -> list[Hit]:
    """The engine's RRF returns payloads already; the other fusions read them for the final hits only."""
    if fusion == "rrf" or not hits:
        return hits
    full = {h.id: h for h in index.points([h.id for h in hits], with_dense)}
    for hit in hits:
        if hit.id in full:  # a point deleted since the query is left out
            hit.payload, hit.dense = full[hit.id].payload, full[hit.id].dense
    return [h for h in hits if h.id in full]


@dataclass
class SearchResult:
    """One retrieved chunk. Also the API's record: `/v1/search` returns these, field for field."""

    document_id: str
    filename: str
    page: int | None
    text: str
    score: float
    chunk: int
    title: str | None = None
    external_id: str | None = None
    collection: str | None = None
    relevance: float | None = None  # cosine similarity of query and chunk, comparable across queries


class SearchService:
    def __init__(
        self,
        index: Callable[[], VectorIndex],
        embedder: Callable[[], Embedder],
        sparse: SparseEncoder,
        audit: AuditLog,
        candidates: int,
        observe: Callable[[str, float], None] | None = None,
        document_weight: float = 1.0,
        fusion: str = "adaptive",
    ) -> None:
        self._index = index
        self._embedder = embedder
        self.sparse = sparse
        self.audit = audit
        self.candidates = candidates
        self.document_weight = document_weight
        self.fusion = fusion
        self._observe = observe or (lambda _stage, _s: None)

    def retrieve(
        self,
        principal: Principal,
        query: str,
        collection: str | None,
        top_k: int,
        with_relevance: bool = False,
        fusion: str | None = None,
    ) -> list[SearchResult]:
        """Retrieval without the audit record (the caller records what it returns). `fusion` overrides the
        configured fusion for this query (one of FUSIONS; the evaluation compares them on one index)."""
        query = query.strip()
        if not query:
            raise Invalid("The query is empty; send the words to search for in 'query'.")
        if not 1 <= top_k <= 200:
            raise Invalid("top_k must be between 1 and 200.")
        fusion = fusion or self.fusion
        if fusion not in FUSIONS:
            raise Invalid(f"fusion must be one of {', '.join(FUSIONS)}.")
        t0 = time.perf_counter()
        with tracing.span("embed"):
            dense = self._embedder().embed_query(query)
        t1 = time.perf_counter()
        with tracing.span("index.query"):
            hits = ranked_chunks(
                self._index(),
                dense.tolist(),
                self.sparse.encode_query(query),
                vector_filter(principal, collection),
                limit=top_k,
                candidates=max(self.candidates, top_k),
                document_weight=self.document_weight,
                with_dense=with_relevance,
                fusion=fusion,
            )
        self._observe("embed_query", t1 - t0)
        self._observe("index_query", time.perf_counter() - t1)
        return [
            SearchResult(
                document_id=h.payload.get("document_id", ""),
                filename=h.payload.get("filename", ""),
                page=h.payload.get("page"),
                text=h.payload.get("text", ""),
                score=h.score,
                chunk=int(h.payload.get("chunk", 0)),
                title=h.payload.get("title"),
                external_id=h.payload.get("external_id"),
                collection=h.payload.get("collection"),
                relevance=float(np.dot(dense, np.asarray(h.dense, dtype=np.float32))) if h.dense else None,
            )
            for h in hits
        ]

    def search(
        self,
        principal: Principal,
        query: str,
        collection: str | None = None,
        top_k: int = 10,
        fusion: str | None = None,
    ) -> list[SearchResult]:
        results = self.retrieve(principal, query, collection, top_k, fusion=fusion)
        self.audit.record(
            principal,
            "search",
            query=query,
            document_ids=[r.document_id for r in results],
            collection=collection,
            top_k=top_k,
            **({"fusion": fusion} if fusion else {}),  # recorded when a request chose its fusion
        )
        return results
