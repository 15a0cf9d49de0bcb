"""The adaptive fusion's maths (enclave/search/fusion.py), and that every fusion mode of /v1/search keeps
the caller's access filter (a real embedded runtime: ingestion pool, Qdrant Edge, SQLite)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from enclave.index.base import CHUNKS, DENSE, DOCUMENTS, SPARSE, ChunkPoint, VectorIndex
from enclave.index.edge import EdgeIndex
from enclave.index.qdrant_server import QdrantServerIndex
from enclave.index.sparse import SparseEncoder
from enclave.search.fusion import (
    FusionWeights,
    adaptive_fusion,
    confidence,
    dense_weight,
    normalised,
    overlap,
    rrf_fusion,
)
from enclave.tenancy.access import AccessFilter
from tests.support import Api

W = FusionWeights()


def ranked(prefix: str, scores: list[float]) -> list[tuple[str, float]]:
    return [(f"{prefix}{i}", s) for i, s in enumerate(scores)]


SHARP = ranked("d", [0.9, 0.5, 0.45, 0.4, 0.38, 0.36, 0.35, 0.34, 0.33, 0.32, 0.31, 0.3])
FLAT = ranked("s", [4.01, 4.0, 4.0, 4.0, 3.99, 3.99, 3.99, 3.98, 3.98, 3.98, 3.97, 1.0])


def test_normalised_scores_are_shares_of_the_top_with_zero_as_the_floor() -> None:
    n = normalised(ranked("x", [4.0, 2.0, 1.0]))
    assert (n["x0"], n["x1"], n["x2"]) == (1.0, 0.5, 0.25)  # the last keeps its distance from nothing
    assert normalised(ranked("x", [0.5, -0.2]))["x1"] == 0.0  # a negative cosine sits at the floor
    assert set(normalised(ranked("x", [0.0, 0.0])).values()) == {0.0}
    r = normalised(ranked("x", [3.0, 2.0, 1.0]), "range")
    assert (r["x0"], r["x1"], r["x2"]) == (1.0, 0.5, 0.0)
    assert set(normalised(ranked("x", [2.0, 2.0, 2.0]), "range").values()) == {0.0}
    assert confidence(ranked("x", [2.0, 2.0, 2.0]), 10) == 0.0


def test_a_candidate_missing_from_a_list_gets_that_lists_last_score() -> None:
    # "c" leads the sparse list but the dense list did not return it: it scored at most the dense list's
    # last (0.7 of the top 0.8), so it is scored with that, not with nothing.
    dense, sparse = [("a", 0.8), ("b", 0.7)], [("c", 9.0), ("a", 8.0), ("b", 7.0)]
    w = FusionWeights(dense_prior=0.7, disagreement=0.0, floor=0.1, flat=0.0)
    fused = dict(adaptive_fusion(dense, sparse, w))
    assert fused["c"] == pytest.approx(0.7 * 0.7 / 0.8 + 0.3 * 1.0)
    assert fused["b"] == pytest.approx(0.7 * 0.7 / 0.8 + 0.3 * 7 / 9)
    assert [pid for pid, _ in adaptive_fusion(dense, sparse, w)] == ["a", "c", "b"]
    # On the range scale the dense list's last is worth 0: "b" then holds nothing over "c" but its BM25.
    minmax = FusionWeights(dense_prior=0.7, disagreement=0.0, floor=0.1, flat=0.0, scale="range")
    assert dict(adaptive_fusion(dense, sparse, minmax))["b"] == pytest.approx(0.0)


def test_a_flat_sparse_list_leaves_the_weight_with_the_sharp_dense_list() -> None:
    assert confidence(SHARP, W.depth) > 0.5 > confidence(FLAT, W.depth)
    alpha = dense_weight(SHARP, FLAT, W)
    assert alpha > W.dense_prior
    top = [pid for pid, _ in adaptive_fusion(SHARP, FLAT, W)[:3]]
    assert top[0] == "d0" and sum(pid.startswith("d") for pid in top) >= 2, top


def test_a_sharp_sparse_list_dominates_a_flat_dense_list() -> None:
    flat_dense = ranked("d", [0.501, 0.5, 0.5, 0.5, 0.499, 0.499, 0.498, 0.498, 0.497, 0.497, 0.2])
    sharp_sparse = ranked("s", [12.0, 5.0, 4.0, 3.5, 3.0, 2.9, 2.8, 2.7, 2.6, 2.5, 1.0])
    assert dense_weight(flat_dense, sharp_sparse, W) < 0.5
    assert adaptive_fusion(flat_dense, sharp_sparse, W)[0][0] == "s0"


def test_a_missing_or_constant_list_gives_the_other_all_the_weight() -> None:
    assert dense_weight(SHARP, [], W) == 1.0
    assert dense_weight([], SHARP, W) == 0.0
    assert dense_weight(SHARP, ranked("s", [1.0] * 12), W) == 1.0
    assert [pid for pid, _ in adaptive_fusion(SHARP, [], W)] == [pid for pid, _ in SHARP]


def test_identical_lists_keep_their_order() -> None:
    same = ranked("x", [5.0, 4.0, 3.5, 3.0, 2.0, 1.0])
    assert [p for p, _ in adaptive_fusion(same, same, W)] == [p for p, _ in same]
    assert [p for p, _ in rrf_fusion([same, same], 60)] == [p for p, _ in same]
    assert overlap(same, same, 10) == 1.0


@pytest.mark.parametrize("prior,conf,dis", [(0.0, 5.0, 5.0), (1.0, 5.0, 5.0), (0.5, -5.0, -5.0)])
def test_the_weight_stays_within_its_bounds(prior: float, conf: float, dis: float) -> None:
    w = FusionWeights(dense_prior=prior, confidence=conf, disagreement=dis, floor=0.15)
    medium = ranked("s", [8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0])
    for a, b in ((SHARP, medium), (medium, SHARP), (SHARP, SHARP)):  # neither list flat
        assert 0.15 <= dense_weight(a, b, w) <= 0.85


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = dict(rrf_fusion([[("a", 9.0), ("b", 1.0)], [("b", 3.0)]], 60))
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["a"] == pytest.approx(1 / 61)


# --- both index backends: each retriever's own list, under the access filter -------------------------------
ROWS = [  # (document, tenant, acl, text)
    ("public", "acme", ["tenant"], "otters swim in the estuary"),
    ("finance", "acme", ["group:finance"], "otters and quarterly revenue"),
    ("other-tenant", "globex", ["tenant"], "otters swim in the estuary"),
]


@pytest.mark.parametrize("kind", ["edge", "qdrant"])
def test_each_retrievers_list_keeps_the_access_filter_on_both_backends(kind: str, tmp_path: Path) -> None:
    enc = SparseEncoder()
    index: VectorIndex
    index = EdgeIndex(tmp_path / "edge") if kind == "edge" else QdrantServerIndex("t", path=":memory:")
    index.ensure_collection(2)
    points = [
        ChunkPoint(
            str(uuid.UUID(int=i + 1)),
            [1.0, 0.1 * i],
            enc.encode_document(text),
            {"tenant_id": tenant, "acl": acl, "document_id": doc, "text": text},
        )
        for i, (doc, tenant, acl, text) in enumerate(ROWS)
    ]
    for level in (CHUNKS, DOCUMENTS):
        index.upsert(points, level=level)
    try:
        for level in (CHUNKS, DOCUMENTS):
            lists = index.ranked_lists(
                [1.0, 0.0],
                enc.encode_query("otters estuary"),
                AccessFilter("acme", ("tenant",)),
                10,
                level=level,
            )
            assert set(lists) == {DENSE, SPARSE}
            for hits in lists.values():
                assert [h.payload["document_id"] for h in hits] == ["public"]
                assert hits[0].score > 0
    finally:
        index.close()


# --- through the API -------------------------------------------------------------------------------------
SECRET = "The Zanzibar lighthouse keeper logs forty-one passing ships every night in a green ledger."
PUBLIC = "A lighthouse keeper in Zanzibar keeps a ledger of ships: the public harbour notice."
QUERY = "Zanzibar lighthouse keeper ships ledger"
FUSIONS = ("adaptive", "rrf", "dense", "sparse")


def _member(admin: Api, name: str) -> tuple[str, Api]:
    r = admin.post("/v1/users", json={"name": name, "email": f"{name}@example.org", "role": "member"})
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    r = admin.post("/v1/keys", json={"name": name, "role": "member", "user_id": user_id})
    assert r.status_code == 201, r.text
    return user_id, admin.with_key(r.json()["key"])


def _hits(api: Api, fusion: str) -> set[str]:
    r = api.post("/v1/search", json={"query": QUERY, "top_k": 50, "fusion": fusion})
    assert r.status_code == 200, r.text
    return {h["document_id"] for h in r.json()["results"]}


def test_every_fusion_keeps_restricted_documents_from_those_not_allowed(embedded: Api, tenant: Api) -> None:
    alice_id, alice = _member(tenant, "alice")
    _, bob = _member(tenant, "bob")
    secret = tenant.upload_text(SECRET, title="lighthouse", acl={"users": [alice_id]})
    public = tenant.upload_text(PUBLIC, title="notice")
    other = embedded.create_tenant(f"fusion-other-{uuid.uuid4().hex[:6]}")
    foreign = embedded.with_key(other["admin_key"]).upload_text(SECRET, title="theirs")
    for api, doc in ((tenant, secret), (tenant, public)):
        assert api.wait_done([doc["id"]])[doc["id"]]["status"] == "ready"
    them = embedded.with_key(other["admin_key"])
    assert them.wait_done([foreign["id"]])[foreign["id"]]["status"] == "ready"
    for fusion in FUSIONS:
        assert _hits(bob, fusion) == {public["id"]}, fusion
        assert _hits(alice, fusion) == {public["id"], secret["id"]}, fusion
        assert foreign["id"] not in _hits(tenant, fusion), fusion


def test_an_unknown_fusion_is_refused(tenant: Api) -> None:
    r = tenant.post("/v1/search", json={"query": QUERY, "fusion": "magic"})
    assert r.status_code == 422
