"""Documents API: upload, records, de-duplication, limits, download, deletion."""

from __future__ import annotations

from tests.support import DOCS, Api


def test_upload_many_files_then_search_finds_text_with_filename_and_page(tenant: Api) -> None:
    docs = tenant.upload(
        DOCS / "fake-memo.pdf",
        DOCS / "multi-column.pdf",
        DOCS / "fake.docx",
        collection="memos",
        metadata='{"dept": "legal"}',
    )
    assert [d["status"] for d in docs] == ["queued"] * 3
    done = tenant.wait_done([d["id"] for d in docs])
    assert {d["status"] for d in done.values()} == {"ready"}
    multi = done[docs[1]["id"]]
    assert multi["pages"] == 13 and multi["chunks"] > 10 and multi["metadata"] == {"dept": "legal"}
    assert multi["progress"] == 1.0
    hits = tenant.search("Mission and Vision of the company", collection="memos", top_k=5)
    assert hits and all(h["collection"] == "memos" for h in hits)
    memo = tenant.search("how many bottles of water and blankets were delivered", top_k=3)[0]
    assert memo["filename"] == "fake-memo.pdf" and memo["page"] == 1


def test_the_same_bytes_twice_in_a_collection_is_the_same_document(tenant: Api) -> None:
    first = tenant.upload(DOCS / "fake-text.txt")[0]
    again = tenant.upload(DOCS / "fake-text.txt")[0]
    assert again["id"] == first["id"] and again["duplicate"] is True
    other = tenant.upload(DOCS / "fake-text.txt", collection="elsewhere")[0]
    assert other["id"] != first["id"]
    assert tenant.get("/v1/documents").json()["total"] == 2


def test_records_with_the_same_external_id_replace_the_old_version(tenant: Api) -> None:
    v1 = tenant.upload_text("The lighthouse keeper is named Oswin.", title="keeper", external_id="kb-7")
    tenant.wait_done([v1["id"]])
    v2 = tenant.upload_text("The lighthouse keeper is now named Marisol.", title="keeper", external_id="kb-7")
    tenant.wait_done([v2["id"]])
    listed = tenant.get("/v1/documents").json()["documents"]
    assert [d["id"] for d in listed] == [v2["id"]]
    hits = tenant.search("lighthouse keeper name")
    assert {h["document_id"] for h in hits} == {v2["id"]}
    assert hits[0]["external_id"] == "kb-7"


def test_oversized_upload_is_413_and_unknown_bytes_are_415(make_runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    rt = make_runtime(max_upload_mb=1)
    with TestClient(create_app(rt)) as http:
        api = Api(http, None)
        api = api.with_key(api.create_tenant("limits")["admin_key"])
        big = b"a" * (1024 * 1024 + 10)
        r = api.post("/v1/documents", files=[("files", ("big.txt", big))])
        assert r.status_code == 413 and "MB" in r.json()["detail"]
        r = api.post("/v1/documents", files=[("files", ("tool.pdf", b"\x7fELF\x02" + bytes(range(256)) * 4))])
        assert r.status_code == 415
        assert api.get("/v1/documents").json()["total"] == 0
        assert not any((rt.storage.root / "tmp").iterdir())  # nothing left behind


def test_a_filename_is_never_used_as_a_path(tenant: Api) -> None:
    doc = tenant.upload(DOCS / "fake-text.txt")[0]
    r = tenant.post("/v1/documents", files=[("files", ("../../../etc/evil.txt", b"evil content here"))])
    evil = r.json()["documents"][0]
    assert evil["filename"] == "evil.txt"
    rt = tenant.http.app.state.runtime
    from enclave.catalog.tables import Document

    with rt.catalog.session() as s:
        key = s.get(Document, evil["id"]).storage_key
    assert "evil" not in key and ".." not in key
    assert doc["id"] != evil["id"]


def test_download_returns_the_original_bytes(tenant: Api) -> None:
    doc = tenant.upload(DOCS / "fake-memo.pdf")[0]
    r = tenant.get(f"/v1/documents/{doc['id']}/file")
    assert r.status_code == 200 and r.content == (DOCS / "fake-memo.pdf").read_bytes()
    assert r.headers["content-type"] == "application/pdf"


def test_after_delete_returns_search_finds_nothing(tenant: Api) -> None:
    doc = tenant.upload_text("Zyxomorphic quasicrystals hum at 7 kilohertz.", title="quasicrystals")
    tenant.wait_done([doc["id"]])
    assert tenant.search("zyxomorphic quasicrystals")[0]["document_id"] == doc["id"]
    assert tenant.delete(f"/v1/documents/{doc['id']}").status_code == 204
    assert all(h["document_id"] != doc["id"] for h in tenant.search("zyxomorphic quasicrystals"))
    assert tenant.get(f"/v1/documents/{doc['id']}").status_code == 404
    rt = tenant.http.app.state.runtime
    assert rt.index.count_document(tenant.tenant_id, doc["id"]) == 0  # type: ignore[attr-defined]


def test_list_filters_and_pages(tenant: Api) -> None:
    ids = [tenant.upload_text(f"note number {i}", title=f"note-{i}")["id"] for i in range(5)]
    tenant.upload_text("other", title="other", collection="c2")
    tenant.wait_done(ids)
    page = tenant.get("/v1/documents", params={"collection": "default", "limit": 2, "offset": 2}).json()
    assert page["total"] == 5 and len(page["documents"]) == 2
    assert tenant.get("/v1/documents", params={"q": "note-3"}).json()["total"] == 1
    assert (
        tenant.get("/v1/documents", params={"status": "ready", "collection": "default"}).json()["total"] == 5
    )
    assert tenant.get("/v1/documents", params={"status": "bogus"}).status_code == 422


def test_broken_files_fail_with_a_reason_and_later_uploads_still_succeed(tenant: Api) -> None:
    names = [
        "password.pdf",
        "fake-text.txt",
        "empty.txt",
        "fake-memo.pdf",
        "password_protected.xlsx",
        "fake.docx",
    ]
    docs = tenant.upload(*(DOCS / n for n in names))
    done = tenant.wait_done([d["id"] for d in docs])
    by_name = {d["filename"]: d for d in done.values()}
    assert "password" in by_name["password.pdf"]["error"]
    assert "empty" in by_name["empty.txt"]["error"]
    assert "password" in by_name["password_protected.xlsx"]["error"]
    assert [by_name[n]["status"] for n in ("fake-text.txt", "fake-memo.pdf", "fake.docx")] == ["ready"] * 3


def test_records_can_be_sent_in_bulk_and_duplicates_inside_a_batch_collapse(tenant: Api) -> None:
    batch = [
        {"title": f"r{i}", "text": f"bulk record number {i} about otters", "external_id": f"b-{i}"}
        for i in range(20)
    ]
    batch.append(dict(batch[0]))  # the same content twice in one request
    r = tenant.post("/v1/documents/text", json=batch)
    assert r.status_code == 202
    docs = r.json()["documents"]
    assert len(docs) == 21 and docs[20]["id"] == docs[0]["id"] and docs[20]["duplicate"] is True
    done = tenant.wait_done(list({d["id"] for d in docs}))
    assert {d["status"] for d in done.values()} == {"ready"} and len(done) == 20
    assert tenant.post("/v1/documents/text", json=[]).status_code == 422
