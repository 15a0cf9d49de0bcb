"""The index schema is described once: both backends, given the same points and access filter, agree, and
neither ever returns a point of another tenant or one whose ACL the caller does not hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from enclave.index.base import CHUNKS, DENSE, DOCUMENTS, SPARSE, ChunkPoint, VectorIndex
from enclave.index.edge import EdgeIndex
from enclave.index.qdrant_server import QdrantServerIndex
from enclave.index.schema import AnyOf, Equals, access_where, document_where, hybrid_plan
from enclave.index.sparse import SparseEncoder, SparseVector
from enclave.tenancy.access import AccessFilter

DIM = 4
ENC = SparseEncoder()
# (id, tenant, acl, collection, dense, text)
ROWS = [
    ("a-public", "acme", ["tenant"], "manuals", [1.0, 0.0, 0.0, 0.0], "otters swim in the estuary"),
    ("a-finance", "acme", ["group:finance"], "reports", [0.9, 0.1, 0.0, 0.0], "otters and quarterly revenue"),
    ("a-report", "acme", ["tenant"], "reports", [0.8, 0.2, 0.0, 0.0], "otter census report"),
    ("b-public", "globex", ["tenant"], "manuals", [1.0, 0.0, 0.0, 0.0], "otters swim in the estuary"),
]
TEXT = {row[0]: row[5] for row in ROWS}
ACME = AccessFilter("acme", ("tenant",))


def _points() -> list[ChunkPoint]:
    return [
        ChunkPoint(
            id=f"00000000-0000-0000-0000-00000000000{i}",
            dense=dense,
            sparse=ENC.encode_document(text),
            payload={"tenant_id": tenant, "acl": acl, "document_id": doc, "collection": coll, "text": text},
        )
        for i, (doc, tenant, acl, coll, dense, text) in enumerate(ROWS)
    ]


def _open(kind: str, tmp_path: Path) -> VectorIndex:
    index: VectorIndex
    index = EdgeIndex(tmp_path / "edge") if kind == "edge" else QdrantServerIndex("t", path=":memory:")
    index.ensure_collection(DIM)
    for level in (CHUNKS, DOCUMENTS):
        index.upsert(_points(), level=level)
    return index


@pytest.fixture(params=["edge", "qdrant"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorIndex]:
    index = _open(request.param, tmp_path)
    yield index
    index.close()


@pytest.fixture
def both(tmp_path: Path) -> Iterator[tuple[VectorIndex, VectorIndex]]:
    edge, server = _open("edge", tmp_path), _open("qdrant", tmp_path)
    yield edge, server
    edge.close()
    server.close()


def _docs(index: VectorIndex, access: AccessFilter, query: str = "otters", level: str = CHUNKS) -> list[str]:
    dense = [1.0, 0.0, 0.0, 0.0]
    hits = index.hybrid_query(dense, ENC.encode_query(query), access, limit=10, candidates=10, level=level)
    return [h.payload["document_id"] for h in hits]


@pytest.mark.parametrize(
    "access",
    [
        ACME,
        AccessFilter("acme", ("tenant", "group:finance")),
        AccessFilter("acme", ("group:finance",)),
        AccessFilter("acme", ("tenant", "group:finance"), collection="reports"),
        AccessFilter("globex", ("tenant",)),
        AccessFilter("initech", ("tenant",)),
    ],
)
@pytest.mark.parametrize("level", [CHUNKS, DOCUMENTS])
def test_both_backends_return_the_same_ids_for_the_same_access(
    both: tuple[VectorIndex, VectorIndex], access: AccessFilter, level: str
) -> None:
    edge, server = both
    assert set(_docs(edge, access, level=level)) == set(_docs(server, access, level=level))


def test_a_point_of_another_tenant_is_never_returned(index: VectorIndex) -> None:
    assert set(_docs(index, ACME)) == {"a-public", "a-report"}
    assert _docs(index, AccessFilter("globex", ("tenant",))) == ["b-public"]
    assert _docs(index, AccessFilter("initech", ("tenant", "group:finance"))) == []


def test_a_point_whose_acl_the_caller_lacks_is_never_returned(index: VectorIndex) -> None:
    assert "a-finance" not in _docs(index, ACME, query="quarterly revenue")
    assert _docs(index, AccessFilter("acme", ("group:finance",)), query="quarterly revenue") == ["a-finance"]
    assert _docs(index, AccessFilter("acme", ())) == []


def test_a_collection_filter_narrows(index: VectorIndex) -> None:
    everyone = AccessFilter("acme", ("tenant", "group:finance"))
    assert set(_docs(index, everyone)) == {"a-public", "a-finance", "a-report"}
    reports = AccessFilter("acme", ("tenant", "group:finance"), collection="reports")
    assert set(_docs(index, reports)) == {"a-finance", "a-report"}


def test_a_query_without_terms_ranks_by_the_dense_vector_alone(index: VectorIndex) -> None:
    everyone = AccessFilter("acme", ("tenant", "group:finance"))
    assert _docs(index, everyone, query="the of and") == ["a-public", "a-finance", "a-report"]


def test_fields_and_with_dense_select_what_comes_back(index: VectorIndex) -> None:
    query = ([1.0, 0.0, 0.0, 0.0], ENC.encode_query("otters"), ACME, 10, 10)
    hits = index.hybrid_query(*query, with_dense=True, fields=["document_id"])
    assert hits and all(set(h.payload) == {"document_id"} for h in hits)
    assert all(h.dense is not None and len(h.dense) == DIM for h in hits)
    plain = index.hybrid_query(*query)
    assert all(h.dense is None and h.payload["text"] == TEXT[h.payload["document_id"]] for h in plain)


def test_deleting_a_document_takes_only_that_tenants_points_at_both_levels(index: VectorIndex) -> None:
    assert index.count_document("acme", "a-public") == 1
    index.delete_document("globex", "a-public")  # the wrong tenant: nothing goes
    assert index.count_document("acme", "a-public") == 1
    index.delete_document("acme", "a-public")
    assert index.count_document("acme", "a-public") == 0
    for level in (CHUNKS, DOCUMENTS):
        assert "a-public" not in _docs(index, ACME, level=level)
        assert _docs(index, AccessFilter("globex", ("tenant",)), level=level) == ["b-public"]


def test_the_access_conditions_are_tenant_acl_and_optional_collection() -> None:
    assert access_where(ACME).must == (Equals("tenant_id", "acme"), AnyOf("acl", ("tenant",)))
    narrowed = access_where(AccessFilter("acme", ("tenant",), collection="reports")).must
    assert narrowed[-1] == Equals("collection", "reports")
    assert document_where("acme", "d1").must == (Equals("tenant_id", "acme"), Equals("document_id", "d1"))


def test_the_hybrid_plan_fuses_dense_and_sparse_under_the_same_filter() -> None:
    plan = hybrid_plan([1.0], SparseVector([3], [1.0]), ACME, limit=5, candidates=50, fields=["text"])
    assert [p.using for p in plan.prefetches] == [DENSE, SPARSE]
    assert {p.where for p in plan.prefetches} == {access_where(ACME)}
    assert {p.limit for p in plan.prefetches} == {50} and plan.limit == 5 and plan.fields == ("text",)
    assert [p.using for p in hybrid_plan([1.0], SparseVector([], []), ACME, 5, 50).prefetches] == [DENSE]
