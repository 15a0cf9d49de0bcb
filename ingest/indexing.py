"""Embedding and index writes of ingestion: chunks in bounded batches, and one document-level point per
document (the centroid of its chunk embeddings and BM25 weights of its whole text)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from enclave import tracing
from enclave.catalog.tables import Document
from enclave.index.base import DOCUMENTS, ChunkPoint, document_point_id, point_id
from enclave.metrics import INGEST_STAGE
from enclave.runtime import Runtime
from enclave.tenancy.access import acl_of, point_payload
from ingest.chunk import Chunk

# Length normalisation of whole-document BM25 weights (terms); chunks use the encoder's own average.
DOCUMENT_AVG_TERMS = 1000.0


class DocumentSummary:
    """The document-level point, built up as chunks are embedded, so search can weigh a chunk by how
    relevant its document is."""

    def __init__(self) -> None:
        self.dense: np.ndarray | None = None
        self.counts: Counter[int] = Counter()
        self.length = 0
        self.chunks = 0

    def add(self, dense: np.ndarray, counts: list[tuple[Counter[int], int]]) -> None:
        total = dense.sum(axis=0)
        self.dense = total if self.dense is None else self.dense + total
        for c, n in counts:
            self.counts.update(c)
            self.length += n
        self.chunks += len(counts)

    def point(self, rt: Runtime, doc: Document) -> ChunkPoint | None:
        if self.dense is None:
            return None
        centroid = self.dense / (float(np.linalg.norm(self.dense)) or 1.0)
        return ChunkPoint(
            id=document_point_id(doc.id),
            dense=centroid.tolist(),
            sparse=rt.sparse.weigh(self.counts, self.length, DOCUMENT_AVG_TERMS),
            payload={**point_payload(doc), "title": doc.title, "chunks": self.chunks},
        )


@dataclass
class Batch:
    """Chunks of one document to embed, numbered from `first`, and the summary they add to."""

    doc: Document
    chunks: list[Chunk]
    first: int
    summary: DocumentSummary


def _chunk_points(rt: Runtime, batch: Batch, texts: list[str], vecs: np.ndarray) -> list[ChunkPoint]:
    counts = [rt.sparse.count(t) for t in texts]
    batch.summary.add(vecs, counts)
    doc = batch.doc
    return [
        ChunkPoint(
            id=point_id(doc.id, batch.first + i),
            dense=vec.tolist(),
            sparse=rt.sparse.weigh(*tc),
            payload={
                **point_payload(doc),
                "title": chunk.section or doc.title,
                "page": chunk.page,
                "chunk": batch.first + i,
                "text": chunk.text,
            },
        )
        for i, (chunk, vec, tc) in enumerate(zip(batch.chunks, vecs, counts, strict=True))
    ]


def embed_and_upsert(rt: Runtime, batches: list[Batch]) -> None:
    """Embeds the chunks of one or more documents in one call and upserts them in one write. Point ids are
    deterministic per chunk, so a retried write overwrites instead of duplicating."""
    texts = [[c.embedding_text(b.doc.title) for c in b.chunks] for b in batches]
    t0 = time.perf_counter()
    with tracing.span("embed", **{"enclave.texts": sum(len(ts) for ts in texts)}):
        dense = rt.embedder.embed_documents([t for ts in texts for t in ts])
    t1 = time.perf_counter()
    points: list[ChunkPoint] = []
    at = 0
    for batch, ts in zip(batches, texts, strict=True):
        points += _chunk_points(rt, batch, ts, dense[at : at + len(ts)])
        at += len(ts)
    t2 = time.perf_counter()
    with tracing.span("index.upsert", **{"enclave.points": len(points)}):
        rt.index.upsert(points)
    INGEST_STAGE.labels("embed").observe(t1 - t0)
    INGEST_STAGE.labels("sparse").observe(t2 - t1)
    INGEST_STAGE.labels("index").observe(time.perf_counter() - t2)


def upsert_summaries(rt: Runtime, items: list[tuple[Document, DocumentSummary]]) -> None:
    points = [p for doc, summary in items if (p := summary.point(rt, doc)) is not None]
    if points:
        with tracing.span("index.upsert", **{"enclave.points": len(points), "enclave.level": DOCUMENTS}):
            rt.index.upsert(points, level=DOCUMENTS)


def settle_access(rt: Runtime, docs: list[Document]) -> None:
    """After a document's last point is written: if its ACL changed meanwhile, the points get the ACL the
    catalog holds now. `DocumentService.set_acl` writes the catalog before the index, so a change this
    read misses is one whose own index update comes after these points."""
    with rt.catalog.session() as s:
        rows = s.scalars(select(Document).where(Document.id.in_([d.id for d in docs]))).all()
        now = {row.id: acl_of(row) for row in rows}
    for doc in docs:
        if doc.id in now and now[doc.id] != acl_of(doc):
            rt.index.set_access(doc.tenant_id, doc.id, {"acl": now[doc.id]})


class Indexer:
    """Embeds and upserts one document's chunks in bounded batches."""

    def __init__(self, rt: Runtime, doc: Document) -> None:
        self.rt, self.doc = rt, doc
        self.pending: list[Chunk] = []
        self.count = 0
        self.max_page = 0
        self.summary = DocumentSummary()

    def add(self, chunk: Chunk) -> None:
        self.pending.append(chunk)
        if chunk.page:
            self.max_page = max(self.max_page, chunk.page)
        if len(self.pending) >= self.rt.settings.embed_batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        embed_and_upsert(self.rt, [Batch(self.doc, batch, self.count, self.summary)])
        self.count += len(batch)

    def finish(self) -> None:
        upsert_summaries(self.rt, [(self.doc, self.summary)])
