"""Vector index in-process with Qdrant Edge (qdrant-edge-py): the embedded mode's backend.

Same data model as the server backend: named dense + sparse (IDF) vectors, `tenant_id` keyword index with
is_tenant, and the access filter translated one-to-one.
"""

from __future__ import annotations

import threading
from pathlib import Path

import qdrant_edge as qe

from enclave.index.base import CHUNKS, DENSE, DOCUMENTS, RRF_K, SPARSE, ChunkPoint, Hit
from enclave.index.sparse import SparseVector
from enclave.tenancy.access import AccessFilter


def to_edge_filter(access: AccessFilter) -> qe.Filter:
    must: list = [
        qe.FieldCondition(key="tenant_id", match=qe.MatchValue(access.tenant_id)),
        qe.FieldCondition(key="acl", match=qe.MatchAny(list(access.tokens))),
    ]
    if access.collection:
        must.append(qe.FieldCondition(key="collection", match=qe.MatchValue(access.collection)))
    return qe.Filter(must=must)


def _document_filter(tenant_id: str, document_id: str) -> qe.Filter:
    return qe.Filter(
        must=[
            qe.FieldCondition(key="tenant_id", match=qe.MatchValue(tenant_id)),
            qe.FieldCondition(key="document_id", match=qe.MatchValue(document_id)),
        ]
    )


class EdgeIndex:
    name = "edge"

    def __init__(self, path: Path) -> None:
        # The chunk shard lives at `path` (as it always has); the document-level shard beside it.
        self.paths = {CHUNKS: path, DOCUMENTS: path.with_name(path.name + "-documents")}
        self.shards: dict[str, qe.EdgeShard] = {}
        # A shard is thread-safe for reads; writes are serialised to keep flushes simple.
        self._write = threading.Lock()

    def ensure_collection(self, dim: int) -> None:
        for level, path in self.paths.items():
            if level not in self.shards:
                self.shards[level] = self._open(path, dim)

    @staticmethod
    def _open(path: Path, dim: int) -> qe.EdgeShard:
        if (path / "edge_config.json").exists():
            return qe.EdgeShard.load(str(path))
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        path.mkdir(parents=True, exist_ok=True)
        shard = qe.EdgeShard.create(str(path), config)
        ops = [
            qe.UpdateOperation.create_field_index("tenant_id", qe.KeywordIndexParams(is_tenant=True)),
            qe.UpdateOperation.create_field_index("acl", qe.PayloadSchemaType.Keyword),
            qe.UpdateOperation.create_field_index("document_id", qe.PayloadSchemaType.Keyword),
            qe.UpdateOperation.create_field_index("collection", qe.PayloadSchemaType.Keyword),
        ]
        for op in ops:
            shard.update(op)
        return shard

    def _shard(self, level: str = CHUNKS) -> qe.EdgeShard:
        if level not in self.shards:
            raise RuntimeError("the index is not open; call ensure_collection first")
        return self.shards[level]

    def upsert(self, points: list[ChunkPoint], level: str = CHUNKS) -> None:
        edge_points = [
            qe.Point(
                id=p.id,
                vector={DENSE: p.dense, SPARSE: qe.SparseVector(p.sparse.indices, p.sparse.values)},
                payload=p.payload,
            )
            for p in points
        ]
        with self._write:
            self._shard(level).update(qe.UpdateOperation.upsert_points(edge_points))

    def delete_document(self, tenant_id: str, document_id: str) -> None:
        with self._write:
            for level in self.paths:
                self._shard(level).update(
                    qe.UpdateOperation.delete_points_by_filter(_document_filter(tenant_id, document_id))
                )

    def count_document(self, tenant_id: str, document_id: str) -> int:
        return self._shard().count(
            qe.CountRequest(exact=True, filter=_document_filter(tenant_id, document_id))
        )

    def hybrid_query(
        self,
        dense: list[float],
        sparse: SparseVector,
        access: AccessFilter,
        limit: int,
        candidates: int,
        with_dense: bool = False,
        level: str = CHUNKS,
        fields: list[str] | None = None,
    ) -> list[Hit]:
        flt = to_edge_filter(access)
        prefetches = [qe.Prefetch(limit=candidates, query=qe.Query.Nearest(dense, using=DENSE), filter=flt)]
        if sparse.indices:
            prefetches.append(
                qe.Prefetch(
                    limit=candidates,
                    query=qe.Query.Nearest(qe.SparseVector(sparse.indices, sparse.values), using=SPARSE),
                    filter=flt,
                )
            )
        res = self._shard(level).query(
            qe.QueryRequest(
                limit=limit,
                query=qe.Fusion.Rrf(k=RRF_K),
                prefetches=prefetches,
                with_payload=qe.PayloadSelector.Include(fields) if fields else True,
                with_vector=[DENSE] if with_dense else False,
            )
        )
        return [
            Hit(
                id=str(p.id),
                score=float(p.score),
                payload=dict(p.payload or {}),
                dense=list(p.vector[DENSE]) if with_dense and isinstance(p.vector, dict) else None,
            )
            for p in res
        ]

    def ping(self) -> None:
        self._shard()

    def close(self) -> None:
        with self._write:
            for shard in self.shards.values():
                shard.flush()
                shard.close()
            self.shards = {}
