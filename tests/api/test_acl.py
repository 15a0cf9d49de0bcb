"""Users, groups and document ACLs, through the HTTP API of an embedded runtime (real ingestion pool,
Qdrant Edge index, SQLite catalog). Answers are checked only where no model is needed (the caller may see
nothing relevant); that answers cite only what retrieval returned is tests/api/test_chat.py's, with a real
model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.support import Api

SECRET = "The Zanzibar lighthouse keeper logs forty-one passing ships every night in a green ledger."
QUERY = "Zanzibar lighthouse keeper ships ledger"


@dataclass
class People:
    admin: Api
    alice: Api
    bob: Api
    alice_id: str
    bob_id: str
    group_id: str


def _user(admin: Api, name: str, role: str = "member") -> tuple[str, Api]:
    r = admin.post("/v1/users", json={"name": name, "email": f"{name}@example.org", "role": role})
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    r = admin.post("/v1/keys", json={"name": f"{name} laptop", "role": "member", "user_id": user_id})
    assert r.status_code == 201, r.text
    return user_id, admin.with_key(r.json()["key"])


def people(admin: Api) -> People:
    """Two users with a key each, and a group with only alice in it."""
    alice_id, alice = _user(admin, "alice")
    bob_id, bob = _user(admin, "bob")
    group = admin.post("/v1/groups", json={"name": "finance"}).json()
    r = admin.post(f"/v1/groups/{group['id']}/members", json={"user_id": alice_id})
    assert r.status_code == 204, r.text
    return People(admin, alice, bob, alice_id, bob_id, group["id"])


def _secret(api: Api, acl: dict[str, Any] | None, text: str = SECRET, **extra: Any) -> dict[str, Any]:
    doc = api.upload_text(text, title="lighthouse", **({"acl": acl} if acl is not None else {}), **extra)
    assert api.wait_done([doc["id"]])[doc["id"]]["status"] == "ready"
    return doc


def _finds(api: Api, doc_id: str) -> bool:
    """Whether the caller reaches the document through search, list, get and download."""
    found = [doc_id in {h["document_id"] for h in api.search(QUERY, top_k=20)}]
    page = api.get("/v1/documents", params={"limit": 500}).json()
    found.append(doc_id in {d["id"] for d in page["documents"]})
    found.append(api.get(f"/v1/documents/{doc_id}").status_code == 200)
    found.append(api.get(f"/v1/documents/{doc_id}/file").status_code == 200)
    assert len(set(found)) == 1, f"search, list, get and download disagree: {found}"
    return found[0]


def test_only_tenant_admins_manage_users_and_groups(tenant: Api) -> None:
    p = people(tenant)
    for call in (
        lambda: p.bob.post("/v1/users", json={"name": "mallory", "role": "admin"}),
        lambda: p.bob.get("/v1/users"),
        lambda: p.bob.post("/v1/groups", json={"name": "mine"}),
        lambda: p.bob.get("/v1/groups"),
        lambda: p.bob.post(f"/v1/groups/{p.group_id}/members", json={"user_id": p.bob_id}),
        lambda: p.bob.delete(f"/v1/groups/{p.group_id}/members/{p.alice_id}"),
        lambda: p.bob.delete(f"/v1/users/{p.alice_id}"),
        lambda: p.bob.delete(f"/v1/groups/{p.group_id}"),
        lambda: p.bob.post("/v1/keys", json={"name": "x", "role": "member", "user_id": p.alice_id}),
    ):
        r = call()
        assert r.status_code == 403, r.text
        assert "admin" in r.json()["detail"]
    users = {u["name"]: u for u in tenant.get("/v1/users").json()["users"]}
    assert users["alice"]["groups"] == [p.group_id] and users["bob"]["groups"] == []
    groups = tenant.get("/v1/groups").json()["groups"]
    assert [(g["name"], g["members"]) for g in groups] == [("finance", [p.alice_id])]
    assert p.alice.get("/v1/me").json()["role"] == "member"

    audit = tenant.get("/v1/audit", params={"limit": 500}).json()["events"]
    actions = {(e["action"], e["outcome"]) for e in audit}
    for action in ("user.create", "group.create", "group.member.add"):
        assert (action, "ok") in actions
        assert (action, "denied") in actions


def test_a_document_restricted_to_a_group_is_invisible_to_everyone_else(tenant: Api) -> None:
    p = people(tenant)
    doc = _secret(p.alice, {"users": [], "groups": [p.group_id]})
    shown = p.alice.get(f"/v1/documents/{doc['id']}").json()
    assert shown["owner"] == p.alice_id
    assert shown["acl"] == {"users": [p.alice_id], "groups": [p.group_id]}
    assert _finds(p.alice, doc["id"]) and _finds(tenant, doc["id"])  # the admin bypass, vectors too
    assert not _finds(p.bob, doc["id"])
    assert p.bob.get("/v1/documents").json()["total"] == 0
    # Answers cite only what retrieval returned: for bob nothing, so no model is even asked.
    ask = {
        "messages": [{"role": "user", "content": "How many ships does the Zanzibar lighthouse keeper log?"}]
    }
    body = p.bob.post("/v1/chat/completions", json=ask).json()
    assert body["citations"] == [] and body["usage"]["completion_tokens"] == 0
    assert doc["id"] not in json.dumps(body)

    # The same content from bob is his own new document, not a duplicate of one he cannot see.
    again = p.bob.upload_text(SECRET, title="lighthouse")
    assert again["duplicate"] is False and again["id"] != doc["id"]
    p.bob.delete(f"/v1/documents/{again['id']}")
    # Nor can he change or delete it: for him it does not exist.
    assert (
        p.bob.http.patch(f"/v1/documents/{doc['id']}", json={"acl": None}, headers=p.bob.headers).status_code
        == 404
    )
    assert p.bob.delete(f"/v1/documents/{doc['id']}").status_code == 404
    assert _finds(p.alice, doc["id"])


def test_membership_and_acl_changes_apply_on_the_very_next_request(tenant: Api) -> None:
    p = people(tenant)
    doc = _secret(p.alice, {"users": [], "groups": [p.group_id]})
    member = f"/v1/groups/{p.group_id}/members"
    assert not _finds(p.bob, doc["id"])
    assert tenant.post(member, json={"user_id": p.bob_id}).status_code == 204
    assert _finds(p.bob, doc["id"])
    assert tenant.delete(f"{member}/{p.bob_id}").status_code == 204
    assert not _finds(p.bob, doc["id"])

    patch = _patcher(p.alice, doc["id"])
    assert patch({"users": [p.bob_id], "groups": []}).status_code == 200
    assert _finds(p.bob, doc["id"])
    r = patch({"users": [], "groups": []})  # owner and admins only, never everyone
    assert r.status_code == 200 and r.json()["acl"] == {"users": [p.alice_id], "groups": []}
    assert not _finds(p.bob, doc["id"])
    assert tenant.post(member, json={"user_id": p.bob_id}).status_code == 204
    assert not _finds(p.bob, doc["id"])  # the group is no longer on the ACL either
    assert _finds(p.alice, doc["id"]) and _finds(tenant, doc["id"])
    assert patch(None).status_code == 200  # tenant-wide again
    assert _finds(p.bob, doc["id"])
    events = tenant.get("/v1/audit", params={"action": "document.acl"}).json()["events"]
    assert len(events) == 3 and {e["target"] for e in events} == {doc["id"]}


def _patcher(api: Api, doc_id: str) -> Any:
    def patch(acl: dict[str, Any] | None) -> Any:
        return api.http.patch(f"/v1/documents/{doc_id}", json={"acl": acl}, headers=api.headers)

    return patch


def test_an_acl_changed_while_the_document_is_ingested_holds_once_it_is_ready(tenant: Api) -> None:
    p = people(tenant)
    docs = [p.alice.upload_text(f"{SECRET} Copy {i}.", title=f"lighthouse {i}") for i in range(3)]
    for doc in docs:  # right after upload: queued, processing or ready, whichever the pool reached
        assert _patcher(p.alice, doc["id"])({"users": [], "groups": []}).status_code == 200
    done = p.alice.wait_done([d["id"] for d in docs])
    assert {d["status"] for d in done.values()} == {"ready"}
    for doc in docs:
        assert not _finds(p.bob, doc["id"])
        assert _finds(p.alice, doc["id"])


def test_members_cannot_change_or_delete_other_peoples_documents(tenant: Api) -> None:
    p = people(tenant)
    doc = _secret(p.alice, None, external_id="lighthouse-1")  # tenant-wide: bob sees it
    assert _finds(p.bob, doc["id"])
    r = _patcher(p.bob, doc["id"])({"users": [p.bob_id], "groups": []})
    assert r.status_code == 403 and "owner" in r.json()["detail"]
    assert p.bob.delete(f"/v1/documents/{doc['id']}").status_code == 403
    r = p.bob.post("/v1/documents/text", json={"text": "Hijacked.", "external_id": "lighthouse-1"})
    assert r.status_code == 409 and "external_id" in r.json()["detail"]
    # the same content is a duplicate of what bob may see
    assert p.bob.upload_text(SECRET, title="lighthouse")["id"] == doc["id"]
    assert _patcher(tenant, doc["id"])({"users": [], "groups": []}).status_code == 200
    assert tenant.delete(f"/v1/documents/{doc['id']}").status_code == 204


def test_listing_applies_acls_before_paging_and_counts_only_visible_documents(tenant: Api) -> None:
    p = people(tenant)
    records = [
        {"title": f"note {i}", "text": f"Note number {i} about lighthouses."}
        | ({"acl": {"users": [], "groups": [p.group_id]}} if i % 2 else {})
        for i in range(30)
    ]
    r = p.alice.post("/v1/documents/text", json=records)
    assert r.status_code == 202, r.text
    pages = [p.bob.get("/v1/documents", params={"limit": 10, "offset": o}).json() for o in (0, 10, 20)]
    assert [len(pg["documents"]) for pg in pages] == [10, 5, 0]
    assert {pg["total"] for pg in pages} == {15}
    assert all(d["acl"] is None for pg in pages for d in pg["documents"])
    mine = p.alice.get("/v1/documents", params={"limit": 10}).json()
    assert (len(mine["documents"]), mine["total"]) == (10, 30)
    assert tenant.get("/v1/documents", params={"limit": 10}).json()["total"] == 30


def test_a_deleted_user_sees_nothing_and_its_keys_stop_working(tenant: Api) -> None:
    p = people(tenant)
    assert p.alice.get("/v1/me").status_code == 200
    doc = _secret(p.bob, {"users": [p.alice_id], "groups": []})
    assert _finds(p.alice, doc["id"])
    assert tenant.delete(f"/v1/users/{p.alice_id}").status_code == 204
    assert p.alice.get("/v1/me").status_code == 401
    assert p.alice.post("/v1/search", json={"query": QUERY}).status_code == 401
    assert tenant.get("/v1/groups").json()["groups"][0]["members"] == []
    assert [u["name"] for u in tenant.get("/v1/users").json()["users"]] == ["bob"]
    assert _finds(p.bob, doc["id"])


def test_keys_without_a_user_keep_working_as_their_own_principal(tenant: Api) -> None:
    member = tenant.with_key(tenant.create_key("member")["key"])
    key_id = member.get("/v1/me").json()["key_id"]
    doc = _secret(member, {"users": [], "groups": []})
    assert member.get(f"/v1/documents/{doc['id']}").json()["owner"] == key_id
    assert _finds(member, doc["id"]) and _finds(tenant, doc["id"])
    other = tenant.with_key(tenant.create_key("member")["key"])
    assert not _finds(other, doc["id"])
