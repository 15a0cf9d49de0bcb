"""Picks the vector index backend from settings: Qdrant Edge in-process, or a Qdrant server."""

from __future__ import annotations

from enclave.index.base import VectorIndex
from enclave.settings import Settings


def build_index(settings: Settings) -> VectorIndex:
    if settings.index_backend == "qdrant":
        from enclave.index.qdrant_server import ClusterLayout, QdrantServerIndex

        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        path = settings.qdrant_path or str(settings.data_dir / "qdrant-local")
        layout = ClusterLayout(
            shards=settings.qdrant_shards,
            replicas=settings.qdrant_replicas,
            write_consistency=settings.qdrant_write_consistency,
            ordering=settings.qdrant_write_ordering,
        )
        return QdrantServerIndex(
            settings.collection, url=settings.qdrant_url, api_key=api_key, path=path, layout=layout
        )
    if settings.index_backend == "edge":
        from enclave.index.edge import EdgeIndex

        return EdgeIndex(settings.data_dir / "index" / settings.collection)
    raise ValueError(f"ENCLAVE_INDEX_BACKEND must be 'edge' or 'qdrant', not {settings.index_backend!r}")
