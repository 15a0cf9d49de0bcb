"""Vector index in-process with Qdrant Edge (qdrant-edge-py): the embedded mode's backend.

The schema, access conditions and query plan come from `enclave.index.schema`; this module only translates
them into qdrant-edge types.
"""

from __future__ import annotations

import threading
from pathlib import Path

import qdrant_edge as qe

from enclave.index.base import CHUNKS, DENSE, DOCUMENTS, SPARSE, ChunkPoint, Hit
from enclave.index.schema import (
    Equals,
    HybridPlan,
    IndexSchema,
    PayloadField,
    Prefetch,
    Where,
    document_where,
    hybrid_plan,
    index_schema,
)
from enclave.index.sparse import SparseVector
from enclave.tenancy.access import AccessFilter

_DISTANCES = {"cosine": qe.Distance.Cosine}
_KINDS = {"keyword": qe.PayloadSchemaType.Keyword}


# --- translation of the neutral schema -------------------------------------------------------------------
def edge_filter(where: Where) -> qe.Filter:
    must = [
        qe.FieldCondition(key=c.key, match=qe.MatchValue(c.value))
        if isinstance(c, Equals)
        else qe.FieldCondition(key=c.key, match=qe.MatchAny(list(c.values)))
        for c in where.must
    ]
    return qe.Filter(must=must)


def edge_config(schema: IndexSchema) -> qe.EdgeConfig:
    sparse = qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf if schema.sparse.idf else None)
    return qe.EdgeConfig(
        vectors={
            schema.dense.name: qe.EdgeVectorParams(
                size=schema.dense.size, distance=_DISTANCES[schema.dense.distance]
            )
        },
        sparse_vectors={schema.sparse.name: sparse},
    )


def edge_field_index(field: PayloadField) -> qe.UpdateOperation:
    params = qe.KeywordIndexParams(is_tenant=True) if field.is_tenant else _KINDS[field.kind]
    return qe.UpdateOperation.create_field_index(field.key, params)


def _edge_vector(prefetch: Prefetch) -> list[float] | qe.SparseVector:
    v = prefetch.vector
    return qe.SparseVector(v.indices, v.values) if isinstance(v, SparseVector) else v


def edge_query(plan: HybridPlan) -> qe.QueryRequest:
    prefetches = [
        qe.Prefetch(
            limit=p.limit, query=qe.Query.Nearest(_edge_vector(p), using=p.using), filter=edge_filter(p.where)
        )
        for p in plan.prefetches
    ]
    return qe.QueryRequest(
        limit=plan.limit,
        query=qe.Fusion.Rrf(k=plan.rrf_k),
        prefetches=prefetches,
        with_payload=qe.PayloadSelector.Include(list(plan.fields)) if plan.fields else True,
        with_vector=[DENSE] if plan.with_dense else False,
    )


def edge_single(plan: HybridPlan, prefetch: Prefetch) -> qe.QueryRequest:
    """One retriever's query on its own (its prefetch of the plan, with the plan's access filter)."""
    return qe.QueryRequest(
        limit=prefetch.limit,
        query=qe.Query.Nearest(_edge_vector(prefetch), using=prefetch.using),
        filter=edge_filter(prefetch.where),
        with_payload=qe.PayloadSelector.Include(list(plan.fields)) if plan.fields else True,
        with_vector=[DENSE] if plan.with_dense else False,
    )


def _hit(point: qe.ScoredPoint | qe.Record, with_dense: bool) -> Hit:
    vector = point.vector
    return Hit(
        id=str(point.id),
        score=float(getattr(point, "score", 0.0)),  # a retrieved Record has no score
        payload=dict(point.payload or {}),
        dense=list(vector[DENSE]) if with_dense and isinstance(vector, dict) else None,
    )


# --- the backend -----------------------------------------------------------------------------------------
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
                self.shards[level] = self._open(path, index_schema(dim))

    @staticmethod
    def _open(path: Path, schema: IndexSchema) -> qe.EdgeShard:
        if (path / "edge_config.json").exists():
            return qe.EdgeShard.load(str(path))
        path.mkdir(parents=True, exist_ok=True)
        shard = qe.EdgeShard.create(str(path), edge_config(schema))
        for field in schema.fields:
            shard.update(edge_field_index(field))
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
        flt = edge_filter(document_where(tenant_id, document_id))
        with self._write:
            for level in self.paths:
                self._shard(level).update(qe.UpdateOperation.delete_points_by_filter(flt))

    def set_access(self, tenant_id: str, document_id: str, payload: dict[str, object]) -> None:
        flt = edge_filter(document_where(tenant_id, document_id))
        with self._write:
            for level in self.paths:
                self._shard(level).update(qe.UpdateOperation.set_payload_by_filter(flt, payload))

    def count_document(self, tenant_id: str, document_id: str) -> int:
        flt = edge_filter(document_where(tenant_id, document_id))
        return self._shard().count(qe.CountRequest(exact=True, filter=flt))

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
        plan = hybrid_plan(dense, sparse, access, limit, candidates, with_dense, fields)
        return [_hit(p, with_dense) for p in self._shard(level).query(edge_query(plan))]

    def ranked_lists(
        self,
        dense: list[float],
        sparse: SparseVector,
        access: AccessFilter,
        candidates: int,
        with_dense: bool = False,
        level: str = CHUNKS,
        fields: list[str] | None = None,
    ) -> dict[str, list[Hit]]:
        plan = hybrid_plan(dense, sparse, access, candidates, candidates, with_dense, fields)
        batch = qe.QueryBatchRequest([edge_single(plan, p) for p in plan.prefetches])  # one pass
        results = self._shard(level).query_batch(batch)
        return {
            p.using: [_hit(x, with_dense) for x in r] for p, r in zip(plan.prefetches, results, strict=True)
        }

    def points(self, ids: list[str], with_dense: bool = False, level: str = CHUNKS) -> list[Hit]:
        records = self._shard(level).retrieve(list(ids), True, [DENSE] if with_dense else False)
        by_id = {str(r.id): r for r in records}
        return [_hit(by_id[i], with_dense) for i in ids if i in by_id]

    def ping(self) -> None:
        self._shard()

    def close(self) -> None:
        with self._write:
            for shard in self.shards.values():
                shard.flush()
                shard.close()
            self.shards = {}
