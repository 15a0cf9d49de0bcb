"""Vector index on a Qdrant server through qdrant-client (tests: the client's local mode).

The schema, access conditions and query plan come from `enclave.index.schema`; this module only translates
them into qdrant-client models. A server that cannot be reached, or answers a server-side fault, surfaces as
`IndexUnavailable` from every method, so callers can tell a transient fault from a bad request by type.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import httpx
from qdrant_client import QdrantClient, models
from qdrant_client.common.client_exceptions import ResourceExhaustedResponse
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from enclave.index.base import CHUNKS, DENSE, DOCUMENTS, SPARSE, ChunkPoint, Hit
from enclave.index.errors import IndexUnavailable
from enclave.index.schema import (
    Equals,
    HybridPlan,
    IndexSchema,
    PayloadField,
    Where,
    document_where,
    hybrid_plan,
    index_schema,
)
from enclave.index.sparse import SparseVector
from enclave.tenancy.access import AccessFilter

BACKEND = "qdrant"
P = ParamSpec("P")
R = TypeVar("R")
_DISTANCES = {"cosine": models.Distance.COSINE}
_KINDS = {"keyword": models.PayloadSchemaType.KEYWORD}


# --- transient faults ------------------------------------------------------------------------------------
def unavailable_reason(exc: BaseException) -> str | None:
    """Why `exc` means the server is unavailable (worth retrying); None when the request was at fault."""
    if isinstance(exc, UnexpectedResponse):
        status = exc.status_code or 0
        if status == 429 or status >= 500:
            return f"HTTP {status} {exc.reason_phrase}".strip()
        return None  # 404 (no such collection) and other 4xx: retrying will not help
    if isinstance(exc, ResourceExhaustedResponse):  # what qdrant-client makes of a 429 with Retry-After
        return f"HTTP 429 {exc.message} (retry after {exc.retry_after_s} s)"
    if isinstance(exc, ResponseHandlingException | httpx.TransportError | ConnectionError | TimeoutError):
        return f"{type(exc).__name__}: {exc}"[:500]
    return None


def unavailable_on_fault(method: Callable[P, R]) -> Callable[P, R]:
    """Re-raises a transient fault of `method` as IndexUnavailable, chained to the original."""

    @functools.wraps(method)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            reason = unavailable_reason(exc)
            if reason is None:
                raise
            raise IndexUnavailable(BACKEND, reason) from exc

    return guarded


# --- translation of the neutral schema -------------------------------------------------------------------
def qdrant_filter(where: Where) -> models.Filter:
    must: list[models.Condition] = [
        models.FieldCondition(key=c.key, match=models.MatchValue(value=c.value))
        if isinstance(c, Equals)
        else models.FieldCondition(key=c.key, match=models.MatchAny(any=list(c.values)))
        for c in where.must
    ]
    return models.Filter(must=must)


def qdrant_vectors(schema: IndexSchema) -> dict[str, models.VectorParams]:
    dense = schema.dense
    return {dense.name: models.VectorParams(size=dense.size, distance=_DISTANCES[dense.distance])}


def qdrant_sparse_vectors(schema: IndexSchema) -> dict[str, models.SparseVectorParams]:
    modifier = models.Modifier.IDF if schema.sparse.idf else None
    return {schema.sparse.name: models.SparseVectorParams(modifier=modifier)}


def qdrant_field_schema(field: PayloadField) -> models.PayloadSchemaType | models.KeywordIndexParams:
    if field.is_tenant:
        return models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)
    return _KINDS[field.kind]


def qdrant_prefetches(plan: HybridPlan) -> list[models.Prefetch]:
    return [
        models.Prefetch(
            query=models.SparseVector(indices=p.vector.indices, values=p.vector.values)
            if isinstance(p.vector, SparseVector)
            else p.vector,
            using=p.using,
            limit=p.limit,
            filter=qdrant_filter(p.where),
        )
        for p in plan.prefetches
    ]


def _hit(point: models.ScoredPoint | models.Record, with_dense: bool) -> Hit:
    vector = point.vector
    return Hit(
        id=str(point.id),
        score=float(getattr(point, "score", 0.0)),  # a retrieved Record has no score
        payload=point.payload or {},
        dense=vector.get(DENSE) if with_dense and isinstance(vector, dict) else None,  # type: ignore[arg-type]
    )


# --- the backend -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClusterLayout:
    """How collections are laid out on a Qdrant cluster, and how many replicas acknowledge a write.

    A write or delete returns once `write_consistency` replicas applied it (wait=True), so with
    write_consistency = replicas a deleted point is gone from every replica before the call returns.
    """

    shards: int = 1
    replicas: int = 1
    write_consistency: int = 1
    ordering: str = "medium"

    def write_ordering(self) -> models.WriteOrdering:
        return models.WriteOrdering(self.ordering)


class QdrantServerIndex:
    name = BACKEND

    def __init__(
        self,
        collection: str,
        url: str = "",
        api_key: str | None = None,
        path: str = "",
        layout: ClusterLayout | None = None,
    ) -> None:
        self.collection = collection
        self.layout = layout or ClusterLayout()
        self.collections = {CHUNKS: collection, DOCUMENTS: f"{collection}_documents"}
        if url:
            self.client = QdrantClient(url=url, api_key=api_key, timeout=30)
        elif path == ":memory:":
            self.client = QdrantClient(location=":memory:")
        else:
            self.client = QdrantClient(path=path)

    @unavailable_on_fault
    def ensure_collection(self, dim: int) -> None:
        schema = index_schema(dim)
        for name in self.collections.values():
            self._ensure(name, schema)

    def _ensure(self, name: str, schema: IndexSchema) -> None:
        if self.client.collection_exists(name):
            return
        self.client.create_collection(
            name,
            vectors_config=qdrant_vectors(schema),
            sparse_vectors_config=qdrant_sparse_vectors(schema),
            shard_number=self.layout.shards,
            replication_factor=self.layout.replicas,
            write_consistency_factor=self.layout.write_consistency,
        )
        # The tenant field is indexed with is_tenant: each tenant's points stay together on disk.
        for field in schema.fields:
            self.client.create_payload_index(
                name, field.key, field_schema=qdrant_field_schema(field), wait=True
            )

    @unavailable_on_fault
    def upsert(self, points: list[ChunkPoint], level: str = CHUNKS) -> None:
        self.client.upsert(
            self.collections[level],
            points=[
                models.PointStruct(
                    id=p.id,
                    vector={
                        DENSE: p.dense,
                        SPARSE: models.SparseVector(indices=p.sparse.indices, values=p.sparse.values),
                    },
                    payload=p.payload,
                )
                for p in points
            ],
            wait=True,
            ordering=self.layout.write_ordering(),
        )

    @unavailable_on_fault
    def delete_document(self, tenant_id: str, document_id: str) -> None:
        selector = models.FilterSelector(filter=qdrant_filter(document_where(tenant_id, document_id)))
        for name in self.collections.values():
            self.client.delete(
                name, points_selector=selector, wait=True, ordering=self.layout.write_ordering()
            )

    @unavailable_on_fault
    def set_access(self, tenant_id: str, document_id: str, payload: dict[str, object]) -> None:
        flt = qdrant_filter(document_where(tenant_id, document_id))
        for name in self.collections.values():
            self.client.set_payload(
                name, payload=payload, points=flt, wait=True, ordering=self.layout.write_ordering()
            )

    @unavailable_on_fault
    def count_document(self, tenant_id: str, document_id: str) -> int:
        flt = qdrant_filter(document_where(tenant_id, document_id))
        return self.client.count(self.collection, count_filter=flt, exact=True).count

    @unavailable_on_fault
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
        res = self.client.query_points(
            self.collections[level],
            prefetch=qdrant_prefetches(plan),
            query=models.RrfQuery(rrf=models.Rrf(k=plan.rrf_k)),
            limit=plan.limit,
            with_payload=list(plan.fields) if plan.fields else True,
            with_vectors=[DENSE] if plan.with_dense else False,
        )
        return [_hit(p, with_dense) for p in res.points]

    @unavailable_on_fault
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
        prefetches = qdrant_prefetches(plan)
        # Both lists in one round trip, each under the plan's access filter, as in the hybrid query.
        requests = [
            models.QueryRequest(
                query=p.query,
                using=p.using,
                filter=p.filter,
                limit=p.limit,
                with_payload=list(plan.fields) if plan.fields else True,
                with_vector=[DENSE] if plan.with_dense else False,
            )
            for p in prefetches
        ]
        results = self.client.query_batch_points(self.collections[level], requests=requests)
        return {
            p.using: [_hit(x, with_dense) for x in r.points] for p, r in zip(prefetches, results, strict=True)
        }

    @unavailable_on_fault
    def points(self, ids: list[str], with_dense: bool = False, level: str = CHUNKS) -> list[Hit]:
        records = self.client.retrieve(
            self.collections[level], ids, with_payload=True, with_vectors=[DENSE] if with_dense else False
        )
        by_id = {str(r.id): r for r in records}
        return [_hit(by_id[i], with_dense) for i in ids if i in by_id]

    @unavailable_on_fault
    def ping(self) -> None:
        self.client.get_collections()

    def close(self) -> None:
        self.client.close()
