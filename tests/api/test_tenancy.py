"""Tenant isolation, roles and revocation: the rules that must never break."""

from __future__ import annotations

from tests.support import DOCS, Api


def _two_tenants(embedded: Api) -> tuple[Api, Api, dict]:
    a = embedded.with_key(embedded.create_tenant("alpha")["admin_key"])
    b = embedded.with_key(embedded.create_tenant("beta")["admin_key"])
    doc = a.upload_text("The alpha secret codeword is PERIWINKLE-42.", title="alpha secrets")
    a.wait_done([doc["id"]])
    return a, b, doc


def test_another_tenant_cannot_see_or_change_a_document(embedded: Api) -> None:
    a, b, doc = _two_tenants(embedded)
    assert a.search("alpha secret codeword")[0]["document_id"] == doc["id"]

    assert b.search("alpha secret codeword PERIWINKLE") == []
    assert b.get("/v1/documents").json()["total"] == 0
    unknown = b.get("/v1/documents/0123456789abcdef0123456789abcdef")
    for resp in (
        b.get(f"/v1/documents/{doc['id']}"),
        b.get(f"/v1/documents/{doc['id']}/file"),
        b.delete(f"/v1/documents/{doc['id']}"),
    ):
        # Exactly like an id that does not exist: status and body.
        assert resp.status_code == 404
        assert resp.json() == unknown.json()
    assert a.get(f"/v1/documents/{doc['id']}").json()["status"] == "ready"
    assert a.search("alpha secret codeword")[0]["document_id"] == doc["id"]


def test_no_body_field_query_parameter_or_header_changes_the_tenant(embedded: Api) -> None:
    a, b, doc = _two_tenants(embedded)
    tenant_a = a.get("/v1/me").json()["tenant_id"]
    spoof = {"X-Tenant-Id": tenant_a, "X-Enclave-Tenant": tenant_a}
    r = b.post(
        "/v1/search",
        json={"query": "PERIWINKLE codeword", "tenant_id": tenant_a},
        headers=spoof,
        params={"tenant_id": tenant_a},
    )
    assert r.status_code == 200 and r.json()["results"] == []
    r = b.get("/v1/documents", params={"tenant_id": tenant_a}, headers=spoof)
    assert r.json()["total"] == 0
    r = b.get(f"/v1/documents/{doc['id']}", params={"tenant_id": tenant_a}, headers=spoof)
    assert r.status_code == 404
    created = b.post("/v1/documents/text", json={"text": "beta text", "tenant_id": tenant_a}, headers=spoof)
    assert created.status_code == 202
    assert a.get(f"/v1/documents/{created.json()['id']}").status_code == 404


def test_reader_cannot_upload_or_delete_but_can_search(tenant: Api) -> None:
    doc = tenant.upload_text("Readers may read the tulip inventory report.", title="tulips")
    tenant.wait_done([doc["id"]])
    reader = tenant.with_key(tenant.create_key("reader")["key"])
    r = reader.post("/v1/documents", files=[("files", ("a.txt", b"hello"))])
    assert r.status_code == 403 and "reader" in r.json()["detail"]
    assert reader.post("/v1/documents/text", json={"text": "x"}).status_code == 403
    assert reader.delete(f"/v1/documents/{doc['id']}").status_code == 403
    assert reader.search("tulip inventory")[0]["document_id"] == doc["id"]
    assert reader.get("/v1/keys").status_code == 403


def test_member_can_upload_but_not_manage_keys(tenant: Api) -> None:
    member = tenant.with_key(tenant.create_key("member")["key"])
    assert member.upload(DOCS / "fake-text.txt")[0]["status"] == "queued"
    assert member.post("/v1/keys", json={"name": "x", "role": "admin"}).status_code == 403


def test_revoked_key_is_refused_on_its_next_request(tenant: Api) -> None:
    issued = tenant.create_key("member", "laptop")
    member = tenant.with_key(issued["key"])
    assert member.get("/v1/me").status_code == 200
    assert tenant.delete(f"/v1/keys/{issued['id']}").status_code == 204
    r = member.get("/v1/me")
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    listed = {k["id"]: k for k in tenant.get("/v1/keys").json()["keys"]}
    assert listed[issued["id"]]["revoked_at"] is not None


def test_keys_are_shown_once_and_stored_hashed(tenant: Api) -> None:
    issued = tenant.create_key("reader", "ci")
    listed = tenant.get("/v1/keys").json()["keys"]
    assert all("key" not in k for k in listed)
    from enclave.catalog.tables import ApiKey

    with tenant.http.app.state.runtime.catalog.session() as s:
        row = s.get(ApiKey, issued["id"])
        assert row is not None and issued["key"] not in row.key_hash and len(row.key_hash) == 64


def test_bad_credentials_get_401_and_operator_endpoints_need_the_operator_key(embedded: Api) -> None:
    assert embedded.get("/v1/documents").status_code == 401
    assert embedded.with_key("enc_nope_nope").get("/v1/documents").status_code == 401
    assert embedded.with_key("garbage").get("/v1/me").status_code == 401
    admin = embedded.with_key(embedded.create_tenant("gamma")["admin_key"])
    assert admin.post("/v1/admin/tenants", json={"name": "evil"}).status_code == 401


def test_another_tenants_key_cannot_be_revoked(embedded: Api) -> None:
    a = embedded.with_key(embedded.create_tenant("a")["admin_key"])
    b = embedded.with_key(embedded.create_tenant("b")["admin_key"])
    victim = a.create_key("member")
    assert b.delete(f"/v1/keys/{victim['id']}").status_code == 404
    assert a.with_key(victim["key"]).get("/v1/me").status_code == 200


def test_every_search_is_audited_with_caller_and_documents(tenant: Api) -> None:
    doc = tenant.upload_text("Audit trails record the saffron shipment.", title="saffron")
    tenant.wait_done([doc["id"]])
    tenant.search("saffron shipment")
    rt = tenant.http.app.state.runtime
    me = tenant.get("/v1/me").json()
    from enclave.tenancy.principal import Principal, Role

    events = rt.audit.events(Principal(me["tenant_id"], me["key_id"], Role.ADMIN), action="search")
    assert events[0].query == "saffron shipment"
    assert events[0].key_id == me["key_id"]
    assert doc["id"] in events[0].document_ids
