"""The audit trail through the API: every access is recorded with actor, action, target, outcome and the
client's address; only tenant admins read it (paged, filtered, exported as JSON Lines); no secret is
ever written; a streamed answer that fails or is left mid-way is recorded too."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from enclave.catalog.tables import AuditChain, AuditEvent
from enclave.inference.errors import ModelUnavailable
from enclave.tenancy.principal import Principal, Role
from gateway import openai_wire as wire
from gateway.app import create_app
from tests.support import DOCS, OPERATOR_KEY, Api

CLIENT = ("198.51.100.7", 40123)


def _admin(http: TestClient, rt: Any) -> Api:
    api = Api(http, None)
    t = api.create_tenant(f"audit-{uuid.uuid4().hex[:6]}")
    admin = api.with_key(t["admin_key"])
    admin.tenant_id = t["id"]  # type: ignore[attr-defined]
    admin.runtime = rt  # type: ignore[attr-defined]
    return admin


@pytest.fixture
def admin(make_runtime: Callable[..., Any]) -> Iterator[Api]:
    """A tenant admin speaking from CLIENT's address."""
    rt = make_runtime()
    with TestClient(create_app(rt), client=CLIENT) as http:
        yield _admin(http, rt)


def _key(admin: Api, role: str) -> tuple[Api, str]:
    made = admin.create_key(role)
    return admin.with_key(made["key"]), made["id"]


def _events(api: Api, **params: Any) -> list[dict[str, Any]]:
    r = api.get("/v1/audit", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return r.json()["events"]


def _tenantless(admin: Api) -> list[Any]:
    with admin.runtime.catalog.engine.connect() as conn:  # type: ignore[attr-defined]
        return conn.execute(sa.select(AuditEvent).where(AuditEvent.tenant_id == "")).all()


def test_every_access_is_recorded_with_actor_action_target_outcome_and_source(admin: Api) -> None:
    member, member_id = _key(admin, "member")
    reader, reader_id = _key(admin, "reader")
    doc = member.upload(DOCS / "codeblock.md")[0]
    record = member.upload_text("The vault opens at dawn.", title="vault")
    assert reader.post("/v1/documents/text", json={"text": "x", "title": "x"}).status_code == 403
    assert member.get(f"/v1/documents/{doc['id']}/file").status_code == 200
    assert member.get("/v1/documents/0000feed/file").status_code == 404
    forged = {"X-Forwarded-For": "203.0.113.66"}  # from an untrusted peer: ignored
    ask = {"query": "when does the vault open"}
    assert member.post("/v1/search", json=ask, headers=forged).status_code == 200
    assert member.delete(f"/v1/documents/{record['id']}").status_code == 204
    assert member.post("/v1/keys", json={"role": "admin"}).status_code == 403
    assert admin.delete(f"/v1/keys/{reader_id}").status_code == 204
    assert reader.get("/v1/documents").status_code == 401  # revoked
    assert admin.with_key(f"enc_{member_id}_not-the-secret").get("/v1/me").status_code == 401
    # A request with a body is refused before its body is read (gateway/body_guard.py): audited too.
    assert (
        admin.with_key(f"enc_{member_id}_not-the-secret").post("/v1/search", json={"query": "x"}).status_code
        == 401
    )
    assert admin.with_key("enc_0123456789abcdef_whatever").get("/v1/me").status_code == 401  # unknown id
    assert admin.with_key("not-even-a-key").get("/v1/me").status_code == 401  # malformed

    events = _events(admin)
    seen = {(e["action"], e["key_id"], e["target"], e["outcome"]) for e in events}
    assert {
        ("tenant.create", "operator", admin.tenant_id, "ok"),  # type: ignore[attr-defined]
        ("key.create", admin.key.split("_")[1], member_id, "ok"),  # type: ignore[union-attr]
        ("document.upload", member_id, doc["id"], "ok"),
        ("document.upload", member_id, record["id"], "ok"),
        ("document.upload", reader_id, None, "denied"),
        ("document.download", member_id, doc["id"], "ok"),
        ("document.download", member_id, "0000feed", "failed"),
        ("search", member_id, None, "ok"),
        ("document.delete", member_id, record["id"], "ok"),
        ("key.create", member_id, None, "denied"),
        ("key.revoke", admin.key.split("_")[1], reader_id, "ok"),  # type: ignore[union-attr]
        ("authenticate", reader_id, reader_id, "denied"),
        ("authenticate", member_id, member_id, "denied"),
    } <= seen
    assert {e["source"] for e in events} == {CLIENT[0]}
    assert events[-1]["action"] == "tenant.create" and events[-1]["seq"] == 1  # newest first
    search = next(e for e in events if e["action"] == "search")
    assert search["query"] == "when does the vault open" and search["details"]["top_k"] == 10
    wrong_secret = [e for e in events if e["action"] == "authenticate" and e["key_id"] == member_id]
    assert len(wrong_secret) == 2, wrong_secret  # the GET and the POST
    revoked = next(e for e in events if e["action"] == "authenticate" and e["key_id"] == reader_id)
    assert "revoked" in revoked["details"]["reason"]

    unknown = _tenantless(admin)  # callers whose tenant nobody knows: their own chain, tenant ""
    assert [(r.action, r.outcome, r.key_id, r.source) for r in unknown] == [
        ("authenticate", "denied", None, CLIENT[0])
    ] * 2
    assert {r.details["reason"] for r in unknown} == {
        "The API key is not valid.",
        "The API key is malformed. Send 'Authorization: Bearer enc_...'.",
    }


def test_a_created_keys_secret_never_appears_in_the_audit_log_or_the_logs(
    admin: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    made = admin.create_key("member", name="ci")
    key = made["key"]
    secret = key.split("_", 2)[2]
    member = admin.with_key(key)
    member.upload_text("Quarterly numbers are up.", title="numbers")
    member.search("quarterly numbers")
    admin.with_key(key + "x").get("/v1/me")  # a near miss of the real key
    admin.with_key(f"enc_{secret}").get("/v1/me")  # the secret pasted as a key
    admin.delete(f"/v1/keys/{made['id']}")
    member.get("/v1/documents")  # revoked
    admin.get("/v1/audit")
    admin.get("/v1/audit/export")
    admin.runtime.audit.flush()  # type: ignore[attr-defined]
    with admin.runtime.catalog.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = [dict(r._mapping) for r in conn.execute(sa.select(AuditEvent))]
        rows += [dict(r._mapping) for r in conn.execute(sa.select(AuditChain))]
    dump = json.dumps(rows, default=str)
    assert made["id"] in dump and len(rows) > 8  # the key's actions are there …
    assert secret not in dump and key not in dump  # … its secret is not
    assert secret not in caplog.text and OPERATOR_KEY not in dump + caplog.text


def test_members_and_readers_cannot_read_the_audit_log(admin: Api) -> None:
    for role in ("member", "reader"):
        api, _ = _key(admin, role)
        for path in ("/v1/audit", "/v1/audit/export"):
            r = api.get(path)
            assert r.status_code == 403
            assert "Only a tenant admin key can read the audit log" in r.json()["detail"]
    denied = _events(admin, outcome="denied")
    assert sorted(e["action"] for e in denied) == ["audit.export", "audit.export", "audit.read", "audit.read"]


def test_filters_and_paging_with_totals(admin: Api) -> None:
    rt = admin.runtime  # type: ignore[attr-defined]
    member, member_id = _key(admin, "member")
    doc = member.upload(DOCS / "codeblock.md")[0]
    for i in range(7):
        member.search(f"member question {i}")
    for i in range(3):
        admin.search(f"admin question {i}")
    who = Principal(admin.tenant_id, member_id, Role.MEMBER)  # type: ignore[attr-defined]
    rt.audit.record(who, "search", query="seeded hit", document_ids=["0ther", doc["id"]])
    rt.audit.record(who, "search", query="seeded miss", document_ids=["0ther"])
    member.get(f"/v1/documents/{doc['id']}/file")

    mine = admin.get("/v1/audit", params={"action": "search", "actor": member_id, "limit": 3}).json()
    assert mine["total"] == 9 and len(mine["events"]) == 3
    by_offset = [
        e["seq"]
        for off in (0, 3, 6, 9)
        for e in _events(admin, action="search", actor=member_id, limit=3, offset=off)
    ]
    assert len(by_offset) == 9 and by_offset == sorted(by_offset, reverse=True)  # newest first, no repeat
    by_cursor, cursor = [], None
    while True:
        params = {
            "action": "search",
            "actor": member_id,
            "limit": 4,
            **({"cursor": cursor} if cursor else {}),
        }
        page = admin.get("/v1/audit", params=params).json()
        assert page["total"] == 9
        by_cursor += [e["seq"] for e in page["events"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert by_cursor == by_offset

    hits = _events(admin, document_id=doc["id"])
    assert all(doc["id"] == e["target"] or doc["id"] in e["document_ids"] for e in hits)
    assert {"document.upload", "document.download"} <= {e["action"] for e in hits}
    assert "seeded hit" in {e["query"] for e in hits} and "seeded miss" not in {e["query"] for e in hits}

    every = _events(admin, action="search")
    middle = every[len(every) // 2]["at"]
    later = admin.get("/v1/audit", params={"action": "search", "from": middle}).json()
    earlier = admin.get("/v1/audit", params={"action": "search", "to": middle}).json()
    assert later["total"] + earlier["total"] == len(every) == 12 and 0 < earlier["total"] < 12
    assert all(e["at"] >= middle for e in later["events"]) and all(
        e["at"] < middle for e in earlier["events"]
    )
    assert admin.get("/v1/audit", params={"outcome": "maybe"}).status_code == 422
    assert admin.get("/v1/audit", params={"limit": 501}).status_code == 422


def test_export_streams_json_lines_of_the_filter_in_chain_order(admin: Api) -> None:
    for i in range(4):
        admin.search(f"question {i}")
    r = admin.get("/v1/audit/export", params={"action": "search"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [e["query"] for e in lines] == [f"question {i}" for i in range(4)]
    assert [e["seq"] for e in lines] == sorted(e["seq"] for e in lines)
    whole = [json.loads(line) for line in admin.get("/v1/audit/export").text.splitlines()]
    assert whole[0]["action"] == "tenant.create" and len(whole) >= 6
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(whole))


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(make_runtime: Callable[..., Any]) -> None:
    rt = make_runtime(trusted_proxies="10.0.0.0/8")
    app = create_app(rt)
    with (
        TestClient(app, client=("10.1.2.3", 1)) as via_proxy,
        TestClient(app, client=("198.51.100.7", 1)) as direct,
    ):
        admin = _admin(via_proxy, rt)
        forwarded = {"X-Forwarded-For": "203.0.113.9, 10.0.0.7"}  # client, then an inner proxy
        admin.post("/v1/search", json={"query": "through the proxy"}, headers=forwarded)
        Api(direct, admin.key).post(
            "/v1/search", json={"query": "straight in"}, headers={"X-Forwarded-For": "203.0.113.9"}
        )
        admin.search("proxy, no header")
        sources = {e["query"]: e["source"] for e in _events(admin, action="search")}
    assert sources == {
        "through the proxy": "203.0.113.9",
        "straight in": "198.51.100.7",
        "proxy, no header": "10.1.2.3",
    }


# --- answers that do not finish ----------------------------------------------------------------------


def _piece(text: str) -> dict[str, Any]:
    return {"choices": [{"delta": {"content": text}}]}


class BreaksMidAnswer:
    """A chat model whose server goes away after two pieces of the answer."""

    async def astream(self, messages: list[dict[str, Any]], **params: Any) -> AsyncIterator[dict[str, Any]]:
        yield _piece("The vault ")
        yield _piece("opens ")
        raise ModelUnavailable("chat", "http://llm.invalid/v1", "connection reset by peer")

    async def acomplete(self, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        raise ModelUnavailable("chat", "http://llm.invalid/v1", "connection refused")

    def close(self) -> None:
        pass


class Endless(BreaksMidAnswer):
    async def astream(self, messages: list[dict[str, Any]], **params: Any) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield _piece("and on ")
            await asyncio.sleep(0.01)


@pytest.fixture
def answering(tmp_path: Path, local_embedder: Any) -> Iterator[Callable[[Any], Api]]:
    """An admin of a tenant holding one ready document, answered by the given fake chat model."""
    from boot.assembly import Mode, build_runtime
    from enclave.runtime import Parts
    from enclave.settings import Settings

    made: list[tuple[Any, TestClient]] = []

    def make(model: Any) -> Api:
        settings = Settings(
            data_dir=tmp_path / f"chat-{len(made)}",
            operator_key=OPERATOR_KEY,
            broker_url="",
            ingest_threads=2,
            answer_min_score=-1.0,  # every retrieved passage is a source, so the model is called
        )
        rt = build_runtime(settings, Mode.EMBEDDED, Parts(embedder=local_embedder, chat_model=model))
        http = TestClient(create_app(rt), client=CLIENT)
        http.__enter__()
        made.append((rt, http))
        admin = _admin(http, rt)
        doc = admin.upload_text("The vault opens at dawn and closes at dusk.", title="vault")
        admin.wait_done([doc["id"]])
        return admin

    yield make
    for rt, http in made:
        http.__exit__(None, None, None)
        rt.close()


ASK = {"messages": [{"role": "user", "content": "When does the vault open?"}], "max_tokens": 32}


def test_a_streamed_answer_whose_model_fails_mid_stream_is_audited(answering: Callable[[Any], Api]) -> None:
    admin = answering(BreaksMidAnswer())
    r = admin.post("/v1/chat/completions", json={**ASK, "stream": True})
    assert r.status_code == 200 and "The vault " in r.text and "model_unavailable" in r.text
    assert admin.post("/v1/chat/completions", json=ASK).status_code == 503  # and without streaming
    answers = _events(admin, action="answer")
    assert [(e["outcome"], e["source"]) for e in answers] == [("failed", CLIENT[0])] * 2
    streamed = answers[1]
    assert streamed["query"] == "When does the vault open?"
    assert "connection reset by peer" in streamed["details"]["reason"]
    assert streamed["details"]["answered_chars"] == len("The vault opens ")


def test_a_streamed_answer_the_client_leaves_is_audited_as_aborted(answering: Callable[[Any], Api]) -> None:
    admin = answering(Endless())
    rt = admin.runtime  # type: ignore[attr-defined]
    me = admin.get("/v1/me").json()
    who = Principal(me["tenant_id"], me["key_id"], Role.ADMIN)
    prep = rt.answers.prepare(who, ASK["messages"], None, None, 32)

    async def leave_after_a_few_frames() -> None:
        pieces = rt.answers.stream(prep, {"max_tokens": 32})
        first = await anext(pieces)
        body = wire.stream_events(rt.answers, prep, wire.Reply.new("enclave"), first, pieces, False)
        for _ in range(5):
            await anext(body)
        await body.aclose()  # what the server does with the body of a response whose client is gone

    asyncio.run(leave_after_a_few_frames())
    answers = rt.audit.events(who, action="answer")
    assert [(e.outcome, e.query) for e in answers] == [("aborted", "When does the vault open?")]
    assert answers[0].details["answered_chars"] > 0
