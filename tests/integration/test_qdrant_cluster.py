"""The app on a Qdrant cluster: collections are created with the shards, replicas and write consistency of
the settings, the tenant field keeps its is_tenant index, and every write and delete waits for the
configured consistency and ordering. The server is the FAKE Qdrant REST server (no Qdrant cluster can run
here); it records what it was asked for, which is what a real cluster would have been told."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from enclave.index.base import DOCUMENTS, ChunkPoint, point_id
from enclave.index.factory import build_index
from enclave.index.sparse import SparseVector
from enclave.settings import Settings

pytestmark = pytest.mark.integration

DIM = 8


def requests_for(fake_qdrant: str, collection: str) -> list[dict[str, Any]]:
    res = httpx.get(f"{fake_qdrant}/fake/requests", params={"collection": collection}, timeout=10)
    res.raise_for_status()
    return res.json()


@pytest.fixture
def cluster_index(fake_qdrant: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Any:
    collection = f"cluster_{uuid.uuid4().hex[:10]}"
    for name, value in {
        "ENCLAVE_INDEX_BACKEND": "qdrant",
        "ENCLAVE_QDRANT_URL": fake_qdrant,
        "ENCLAVE_COLLECTION": collection,
        "ENCLAVE_DATA_DIR": str(tmp_path),
        "ENCLAVE_QDRANT_SHARDS": "6",
        "ENCLAVE_QDRANT_REPLICAS": "2",
        "ENCLAVE_QDRANT_WRITE_CONSISTENCY": "2",
        "ENCLAVE_QDRANT_WRITE_ORDERING": "strong",
    }.items():
        monkeypatch.setenv(name, value)
    index = build_index(Settings())
    index.ensure_collection(DIM)
    yield index
    index.close()


def test_collections_are_created_with_the_cluster_layout_of_the_settings(
    cluster_index: Any, fake_qdrant: str
) -> None:
    chunks = cluster_index.collection
    seen = requests_for(fake_qdrant, chunks)
    creates = {r["path"]: r["body"] for r in seen if r["method"] == "PUT" and r["path"].count("/") == 2}
    assert set(creates) == {f"/collections/{chunks}", f"/collections/{chunks}_documents"}, seen
    for body in creates.values():
        assert body["shard_number"] == 6
        assert body["replication_factor"] == 2
        assert body["write_consistency_factor"] == 2
    tenant_indexes = [
        r["body"] for r in seen if r["path"].endswith("/index") and r["body"]["field_name"] == "tenant_id"
    ]
    assert len(tenant_indexes) == 2
    assert all(b["field_schema"]["is_tenant"] is True for b in tenant_indexes)


def test_writes_and_deletes_wait_for_the_configured_consistency(cluster_index: Any, fake_qdrant: str) -> None:
    doc = str(uuid.uuid4())
    payload = {"tenant_id": "t1", "document_id": doc, "acl": ["*"], "collection": "c"}
    point = ChunkPoint(point_id(doc, 0), [0.1] * DIM, SparseVector([1, 5], [0.5, 0.5]), payload)
    cluster_index.upsert([point])
    cluster_index.upsert([ChunkPoint(point_id(doc, 1), [0.2] * DIM, point.sparse, payload)], DOCUMENTS)
    assert cluster_index.count_document("t1", doc) == 1
    cluster_index.set_access("t1", doc, {"acl": ["group:a"]})
    cluster_index.delete_document("t1", doc)
    # Deleted before the call returned: nothing left to find, at once.
    assert cluster_index.count_document("t1", doc) == 0

    writes = [
        r
        for r in requests_for(fake_qdrant, cluster_index.collection)
        if r["path"].endswith(("/points", "/points/delete", "/points/payload"))
    ]
    kinds = {r["path"].rsplit("/", 1)[-1] for r in writes}
    assert kinds == {"points", "delete", "payload"}, writes
    for r in writes:
        assert r["query"].get("wait") == "true", r
        assert r["query"].get("ordering") == "strong", r
