"""The vector index interface both backends (Qdrant server, Qdrant Edge) implement."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from enclave.index.schema import CHUNKS, DENSE, DOCUMENTS, RRF_K, SPARSE
from enclave.index.sparse import SparseVector
from enclave.tenancy.access import AccessFilter

# The level and vector names are defined with the schema; importable from here as they always were.
__all__ = [
    "CHUNKS",
    "DENSE",
    "DOCUMENTS",
    "RRF_K",
    "SPARSE",
    "ChunkPoint",
    "Hit",
    "VectorIndex",
    "document_point_id",
    "point_id",
]

_POINT_NS = uuid.UUID("6f1c1f7e-2b7a-4c55-9d1e-0e5c1a3b9f42")


def point_id(document_id: str, chunk_no: int) -> str:
    """Deterministic: a retried task overwrites instead of duplicating."""
    return str(uuid.uuid5(_POINT_NS, f"{document_id}:{chunk_no}"))


def document_point_id(document_id: str) -> str:
    return str(uuid.uuid5(_POINT_NS, f"{document_id}:document"))


@dataclass
class ChunkPoint:
    id: str
    dense: list[float]
    sparse: SparseVector
    payload: dict[str, Any]


@dataclass
class Hit:
    id: str
    score: float
    payload: dict[str, Any] = field(default_factory=dict)
    dense: list[float] | None = None  # the stored dense vector, when asked for


class VectorIndex(Protocol):
    name: str

    def ensure_collection(self, dim: int) -> None: ...

    def upsert(self, points: list[ChunkPoint], level: str = CHUNKS) -> None: ...

    def delete_document(self, tenant_id: str, document_id: str) -> None:
        """Removes the document's points at both levels."""

    def count_document(self, tenant_id: str, document_id: str) -> int:
        """The document's chunk points."""

    def set_access(self, tenant_id: str, document_id: str, payload: dict[str, object]) -> None:
        """Sets payload fields (the `acl`) on the document's points at both levels, visible to queries
        when it returns."""

    def hybrid_query(
        self,
        dense: list[float],
        sparse: SparseVector,
        access: AccessFilter,
        limit: int,
        candidates: int,
        with_dense: bool = False,
        level: str = CHUNKS,
        fields: list[str] | None = None,  # payload fields to return (None: all)
    ) -> list[Hit]: ...

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
        """Each retriever's own candidates with its raw scores (cosine, BM25), keyed by vector name
        (DENSE, SPARSE; no SPARSE list for a query without terms), every one under the access filter: what
        a fusion outside the engine (enclave/search/fusion.py) fuses."""
        ...

    def points(self, ids: list[str], with_dense: bool = False, level: str = CHUNKS) -> list[Hit]:
        """The full payload (and the dense vector, when asked) of points a filtered query returned, in the
        order given; score 0."""
        ...

    def ping(self) -> None: ...

    def close(self) -> None: ...
