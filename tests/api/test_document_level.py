"""The document level of the index: one point per document, scoped and deleted like its chunks, and used to
rank a chunk by its document's relevance."""

from __future__ import annotations

from enclave.index.base import DOCUMENTS
from enclave.tenancy.access import vector_filter
from tests.support import Api

FX = (
    "Foreign exchange rates moved sharply this quarter. A stronger dollar and foreign exchange rate "
    "fluctuations reduced reported net sales; currency exchange rate changes also affected margins. "
)


def _document_level(rt, api: Api, query: str) -> list[dict]:  # type: ignore[no-untyped-def]
    principal = rt.keys.authenticate(api.key)
    dense = rt.embedder.embed_query(query).tolist()
    hits = rt.index.hybrid_query(
        dense, rt.sparse.encode_query(query), vector_filter(principal), 10, 100, level=DOCUMENTS
    )
    return [h.payload for h in hits]


def test_each_document_has_one_document_point_scoped_and_deleted_like_its_chunks(
    tenant: Api, embedded: Api
) -> None:
    rt = embedded.runtime  # type: ignore[attr-defined]
    long = "\n\n".join(
        f"Section {i}: the otters of the northern estuary number {i * 11}." * 9 for i in range(12)
    )
    a = tenant.upload_text(long, title="otter census")
    b = tenant.upload_text("Herons nest in the reeds of the southern marsh.", title="heron notes")
    other = embedded.with_key(embedded.create_tenant("neighbour")["admin_key"])
    theirs = other.upload_text(long, title="otter census")
    done = tenant.wait_done([a["id"], b["id"]])
    other.wait_done([theirs["id"]])

    mine = _document_level(rt, tenant, "otters of the estuary")
    assert [p["document_id"] for p in mine] == [a["id"], b["id"]]  # the otter census first; no neighbour
    assert mine[0]["chunks"] == done[a["id"]]["chunks"] > 1
    assert {p["tenant_id"] for p in mine} == {tenant.tenant_id}  # type: ignore[attr-defined]
    assert [p["document_id"] for p in _document_level(rt, other, "otters")] == [theirs["id"]]

    assert tenant.delete(f"/v1/documents/{a['id']}").status_code == 204
    assert [p["document_id"] for p in _document_level(rt, tenant, "otters of the estuary")] == [b["id"]]


def test_a_passage_from_the_document_the_question_is_about_ranks_higher(tenant: Api, embedded: Api) -> None:
    rt = embedded.runtime  # type: ignore[attr-defined]
    # Ten quarterly reports that dwell on currency; one, about Acme, mentions it in a single passage whose
    # own words never name the company. Titles are tickers, as in real filings.
    records = [
        {
            "title": f"FILING{i} Q3",
            "text": "\n\n".join([FX * 3, f"Company {i} sells industrial pumps and valves. " * 20]),
        }
        for i in range(10)
    ]
    acme_paragraphs = [
        f"Acme stores opened in {city}; Acme staff trained on Acme tills. " * 24
        for city in ("Leeds", "Derby", "Hull", "York")
    ]
    acme_fx = "Foreign exchange rates cut net sales by two percent this quarter."
    records.append(
        {"title": "ACMX Q3", "text": "\n\n".join([*acme_paragraphs[:2], acme_fx, *acme_paragraphs[2:]])}
    )
    # One bulk request: one group, one index write, so the index (and its per-segment IDF) is the same on
    # every run; eleven parallel uploads landed in segments in a different order each time.
    docs = tenant.post("/v1/documents/text", json=records).json()["documents"]
    ids, acme = [d["id"] for d in docs[:10]], docs[10]
    tenant.wait_done([*ids, acme["id"]])
    principal = rt.keys.authenticate(tenant.key)
    question = "How did foreign exchange rates affect Acme's net sales?"

    def rank_of_acme_fx(weight: float, fusion: str = "rrf") -> int:
        rt.search.document_weight = weight
        rt.search.fusion = fusion  # the document level's effect, shown under the engine's RRF
        hits = rt.search.retrieve(principal, question, None, 30)
        return next(i for i, h in enumerate(hits) if h.document_id == acme["id"] and "two percent" in h.text)

    plain, aware = rank_of_acme_fx(0.0), rank_of_acme_fx(1.0)
    assert aware < plain, (plain, aware)
    assert aware < 5
    assert rank_of_acme_fx(1.0, "adaptive") < 5  # the default fusion finds it as well
