"""The index schema, access conditions and hybrid query plan, described once and neutral of the engine.

Each backend (edge.py, qdrant_server.py) only translates these descriptions into its engine's types, so a
new payload field, condition or query step is one edit here. See docs/ACCESS.md for the access semantics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from enclave.index.sparse import SparseVector
from enclave.tenancy.access import AccessFilter

# Two levels in the index: chunks (what search returns) and one point per document (its centroid embedding
# and whole-text BM25 weights), which lets a chunk's rank take its document's relevance into account.
# Both levels share the schema below.
CHUNKS = "chunks"
DOCUMENTS = "documents"
LEVELS = (CHUNKS, DOCUMENTS)

DENSE = "dense"
SPARSE = "sparse"
# Reciprocal rank fusion constant: 1/(k + rank). 60 is the value of the original RRF paper.
RRF_K = 60

# The payload keys the access conditions read; `enclave.tenancy.access.point_payload` writes them.
TENANT_ID = "tenant_id"
ACL = "acl"
DOCUMENT_ID = "document_id"
COLLECTION = "collection"


@dataclass(frozen=True)
class DenseVectorSpec:
    name: str
    size: int
    distance: Literal["cosine"] = "cosine"


@dataclass(frozen=True)
class SparseVectorSpec:
    name: str
    idf: bool = True  # with IDF applied by the engine, the dot product of our BM25 weights is the BM25 score


@dataclass(frozen=True)
class PayloadField:
    key: str
    kind: Literal["keyword"] = "keyword"
    # Qdrant's advice for many tenants: a keyword index on the tenant field marked is_tenant.
    is_tenant: bool = False


@dataclass(frozen=True)
class IndexSchema:
    dense: DenseVectorSpec
    sparse: SparseVectorSpec
    fields: tuple[PayloadField, ...]


PAYLOAD_FIELDS = (
    PayloadField(TENANT_ID, is_tenant=True),
    PayloadField(ACL),
    PayloadField(DOCUMENT_ID),
    PayloadField(COLLECTION),
)


def index_schema(dim: int) -> IndexSchema:
    """What every collection (shard) of either level holds, for embeddings of `dim` dimensions."""
    return IndexSchema(DenseVectorSpec(DENSE, dim), SparseVectorSpec(SPARSE), PAYLOAD_FIELDS)


# --- conditions ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Equals:
    """payload[key] == value"""

    key: str
    value: str


@dataclass(frozen=True)
class AnyOf:
    """payload[key] (a value or a list) holds at least one of `values`."""

    key: str
    values: tuple[str, ...]


Condition = Equals | AnyOf


@dataclass(frozen=True)
class Where:
    """A conjunction: a point matches when every condition holds."""

    must: tuple[Condition, ...]


def access_where(access: AccessFilter) -> Where:
    """tenant_id == tenant AND acl holds any of the caller's tokens [AND collection == collection]; a
    tenant admin's filter has no acl condition (admins see every document of their tenant)."""
    must: list[Condition] = [Equals(TENANT_ID, access.tenant_id)]
    if not access.all_documents:
        must.append(AnyOf(ACL, tuple(access.tokens)))
    if access.collection:
        must.append(Equals(COLLECTION, access.collection))
    return Where(tuple(must))


def document_where(tenant_id: str, document_id: str) -> Where:
    """One document's points, at either level: what delete and count select."""
    return Where((Equals(TENANT_ID, tenant_id), Equals(DOCUMENT_ID, document_id)))


# --- hybrid query ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prefetch:
    using: str  # the vector name
    vector: list[float] | SparseVector
    limit: int
    where: Where


@dataclass(frozen=True)
class HybridPlan:
    """Candidates from each prefetch (each under the access filter), fused by reciprocal rank."""

    prefetches: tuple[Prefetch, ...]
    rrf_k: int
    limit: int
    fields: tuple[str, ...] | None  # payload fields to return; None: all
    with_dense: bool  # return the stored dense vector


def hybrid_plan(
    dense: list[float],
    sparse: SparseVector,
    access: AccessFilter,
    limit: int,
    candidates: int,
    with_dense: bool = False,
    fields: list[str] | None = None,
) -> HybridPlan:
    where = access_where(access)
    prefetches = [Prefetch(DENSE, dense, candidates, where)]
    if sparse.indices:  # a query of stop words only has no terms: dense alone then
        prefetches.append(Prefetch(SPARSE, sparse, candidates, where))
    return HybridPlan(
        prefetches=tuple(prefetches),
        rrf_k=RRF_K,
        limit=limit,
        fields=tuple(fields) if fields else None,
        with_dense=with_dense,
    )
