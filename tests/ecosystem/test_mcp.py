"""The MCP server at /mcp, driven by the official MCP Python client over Streamable HTTP against a running
`enclave serve`: tools, scoping by the key's tenant, refusal without a key, and the audit trail."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.ecosystem.conftest import QUESTION, TenantKeys

T = TypeVar("T")


def _with_session(url: str, key: str, work: Callable[[ClientSession], Awaitable[T]]) -> T:
    async def run() -> T:
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(300.0)) as http,
            streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return asyncio.run(run())


def _payload(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content or json.loads(result.content[0].text)


def test_a_member_key_lists_the_tools_and_search_and_ask_find_the_memo_and_its_page(
    tenant_a: TenantKeys,
) -> None:
    async def work(s: ClientSession) -> tuple[set[str], dict[str, Any], dict[str, Any]]:
        tools = {t.name for t in (await s.list_tools()).tools}
        found = _payload(await s.call_tool("search", {"query": QUESTION, "top_k": 3}))
        answered = _payload(await s.call_tool("ask", {"question": QUESTION}))
        return tools, found, answered

    tools, found, answered = _with_session(tenant_a.url, tenant_a.member_key, work)
    assert {"search", "ask", "list_documents", "get_document"} <= tools
    top = found["results"][0]
    assert (top["document_id"], top["filename"], top["page"]) == (tenant_a.memo_id, "fake-memo.pdf", 1)
    assert top["score"] > 0 and "water" in top["text"].lower()
    assert answered["answer"].strip()
    cited = answered["citations"][0]
    assert (cited["document_id"], cited["page"]) == (tenant_a.memo_id, 1)


def test_documents_and_collections_are_there_for_the_member(tenant_a: TenantKeys) -> None:
    async def work(s: ClientSession) -> tuple[dict[str, Any], dict[str, Any], list[str], str]:
        page = _payload(await s.call_tool("list_documents", {}))
        one = _payload(await s.call_tool("get_document", {"document_id": tenant_a.memo_id}))
        uris = [str(r.uri) for r in (await s.list_resources()).resources]
        listing = (await s.read_resource("enclave://collections/default")).contents[0].text
        return page, one, uris, listing

    page, one, uris, listing = _with_session(tenant_a.url, tenant_a.member_key, work)
    assert [d["id"] for d in page["documents"]] == [tenant_a.memo_id] and page["total"] == 1
    assert one["filename"] == "fake-memo.pdf" and one["status"] == "ready" and one["pages"] == 1
    assert "enclave://collections" in uris and "enclave://collections/default" in uris
    assert json.loads(listing)["documents"][0]["id"] == tenant_a.memo_id


def test_another_tenants_key_sees_none_of_it(tenant_a: TenantKeys, tenant_b: TenantKeys) -> None:
    async def work(s: ClientSession) -> tuple[Any, Any, Any, list[str]]:
        found = await s.call_tool("search", {"query": QUESTION})
        page = await s.call_tool("list_documents", {})
        one = await s.call_tool("get_document", {"document_id": tenant_a.memo_id})
        uris = [str(r.uri) for r in (await s.list_resources()).resources]
        return found, page, one, uris

    found, page, one, uris = _with_session(tenant_b.url, tenant_b.member_key, work)
    assert all(r["document_id"] != tenant_a.memo_id for r in _payload(found)["results"])
    assert _payload(page)["total"] == 0
    # The same sentence GET /v1/documents/{id} answers, as an MCP tool error.
    assert one.is_error and one.content[0].text == "No document with that id."
    rest = httpx.get(
        f"{tenant_b.url}/v1/documents/{tenant_a.memo_id}",
        headers={"Authorization": f"Bearer {tenant_b.member_key}"},
    )
    assert rest.status_code == 404 and rest.json()["detail"] == one.content[0].text
    assert "enclave://collections/default" not in uris


def test_a_refused_call_carries_the_rest_sentence(tenant_a: TenantKeys) -> None:
    async def work(s: ClientSession) -> tuple[Any, Any]:
        empty = await s.call_tool("search", {"query": "   "})
        unknown = await s.call_tool("ask", {"question": QUESTION, "collection": "nope"})
        return empty, unknown

    empty, unknown = _with_session(tenant_a.url, tenant_a.member_key, work)
    assert empty.is_error
    assert empty.content[0].text == "The query is empty; send the words to search for in 'query'."
    rest = httpx.post(
        f"{tenant_a.url}/v1/chat/completions",
        json={"model": "enclave:nope", "messages": [{"role": "user", "content": QUESTION}]},
        headers={"Authorization": f"Bearer {tenant_a.member_key}"},
    )
    assert rest.status_code == 404
    assert unknown.is_error and unknown.content[0].text == rest.json()["detail"]


def test_a_request_without_a_valid_key_is_refused_before_mcp(tenant_a: TenantKeys) -> None:
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    accept = {"Accept": "application/json, text/event-stream"}
    for auth in ({}, {"Authorization": "Bearer enc_x_y"}):
        mcp = httpx.post(f"{tenant_a.url}/mcp", json=init, headers={**accept, **auth})
        rest = httpx.get(f"{tenant_a.url}/v1/documents", headers=auth)
        assert mcp.status_code == rest.status_code == 401
        assert mcp.json()["detail"] == rest.json()["detail"]  # the REST sentence, word for word
        assert mcp.headers["www-authenticate"] == "Bearer"
    # The same request with the member key is an MCP handshake.
    ok = httpx.post(
        f"{tenant_a.url}/mcp", json=init, headers={**accept, "Authorization": f"Bearer {tenant_a.member_key}"}
    )
    assert ok.status_code == 200 and "serverInfo" in ok.text


def test_tool_calls_are_in_the_audit_log(tenant_a: TenantKeys) -> None:
    query = "bottles of water delivered to the shelter"

    async def work(s: ClientSession) -> None:
        _payload(await s.call_tool("search", {"query": query}))
        _payload(await s.call_tool("ask", {"question": QUESTION}))

    _with_session(tenant_a.url, tenant_a.member_key, work)
    admin = {"Authorization": f"Bearer {tenant_a.admin_key}"}

    def events(action: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{tenant_a.url}/v1/audit", params={"action": action}, headers=admin)
        assert r.status_code == 200, r.text
        return r.json()["events"]

    searched = [e for e in events("search") if e["query"] == query]
    assert searched and searched[0]["key_id"] == tenant_a.member_key_id
    assert tenant_a.memo_id in searched[0]["document_ids"] and searched[0]["source"] == "127.0.0.1"
    answered = [
        e for e in events("answer") if e["query"] == QUESTION and e["key_id"] == tenant_a.member_key_id
    ]
    assert answered and answered[0]["outcome"] == "ok" and tenant_a.memo_id in answered[0]["document_ids"]
