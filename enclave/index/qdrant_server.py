"""Vector index on a Qdrant server through qdrant-client (tests: the client's local mode)."""

from __future__ import annotations

from qdrant_client import QdrantClient, models

from enclave.index.base import CHUNKS, DENSE, DOCUMENTS, RRF_K, SPARSE, ChunkPoint, Hit
from enclave.index.sparse import SparseVector
from enclave.tenancy.access import AccessFilter


def to_qdrant_filter(access: AccessFilter, document_id: str | None = None) -> models.Filter:
    must: list[models.Condition] = [
        models.FieldCondition(key="tenant_id", match=models.MatchValue(value=access.tenant_id)),
        models.FieldCondition(key="acl", match=models.MatchAny(any=list(access.tokens))),
    ]
    if access.collection:
        must.append(models.FieldCondition(key="collection", match=models.MatchValue(value=access.collection)))
    if document_id:
        must.append(models.FieldCondition(key="document_id", match=models.MatchValue(value=document_id)))
    return models.Filter(must=must)


def _document_filter(tenant_id: str, document_id: str) -> models.Filter:
    return models.Filter(
        must=[
            models.FieldCondition(key="tenant_id", match=models.MatchValue(value=tenant_id)),
            models.FieldCondition(key="document_id", match=models.MatchValue(value=document_id)),
        ]
    )


class QdrantServerIndex:
    name = "qdrant"

    def __init__(self, collection: str, url: str = "", api_key: str | None = None, path: str = "") -> None:
        self.collection = collection
        self.collections = {CHUNKS: collection, DOCUMENTS: f"{collection}_documents"}
        if url:
            self.client = QdrantClient(url=url, api_key=api_key, timeout=30)
        elif path == ":memory:":
            self.client = QdrantClient(location=":memory:")
        else:
            self.client = QdrantClient(path=path)

    def ensure_collection(self, dim: int) -> None:
        for name in self.collections.values():
            self._ensure(name, dim)

    def _ensure(self, name: str, dim: int) -> None:
        if self.client.collection_exists(name):
            return
        self.client.create_collection(
            name,
            vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        # Qdrant's advice for many tenants: a keyword index on the tenant field marked is_tenant.
        self.client.create_payload_index(
            name,
            "tenant_id",
            field_schema=models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True),
        )
        for key in ("acl", "document_id", "collection"):
            self.client.create_payload_index(name, key, field_schema=models.PayloadSchemaType.KEYWORD)

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
        )

    def delete_document(self, tenant_id: str, document_id: str) -> None:
        for name in self.collections.values():
            self.client.delete(
                name,
                points_selector=models.FilterSelector(filter=_document_filter(tenant_id, document_id)),
                wait=True,
            )

    def count_document(self, tenant_id: str, document_id: str) -> int:
        return self.client.count(
            self.collection, count_filter=_document_filter(tenant_id, document_id), exact=True
        ).count

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
        flt = to_qdrant_filter(access)
        prefetch = [models.Prefetch(query=dense, using=DENSE, limit=candidates, filter=flt)]
        if sparse.indices:
            prefetch.append(
                models.Prefetch(
                    query=models.SparseVector(indices=sparse.indices, values=sparse.values),
                    using=SPARSE,
                    limit=candidates,
                    filter=flt,
                )
            )
        res = self.client.query_points(
            self.collections[level],
            prefetch=prefetch,
            query=models.RrfQuery(rrf=models.Rrf(k=RRF_K)),
            limit=limit,
            with_payload=fields or True,
            with_vectors=[DENSE] if with_dense else False,
        )
        return [
            Hit(
                id=str(p.id),
                score=float(p.score),
                payload=p.payload or {},
                dense=p.vector.get(DENSE) if with_dense and isinstance(p.vector, dict) else None,  # type: ignore[arg-type]
            )
            for p in res.points
        ]

    def ping(self) -> None:
        self.client.get_collections()

    def close(self) -> None:
        self.client.close()
