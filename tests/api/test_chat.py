"""Answering through the OpenAI-compatible API, against a real llama.cpp server with the bundled GGUF."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from enclave.chat.service import NOT_COVERED
from gateway.app import create_app
from tests.procs import Server, llama_server
from tests.support import DOCS, Api

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def llm() -> Iterator[Server]:
    with llama_server(alias="smollm2", n_ctx=4096) as s:
        yield s


@pytest.fixture
def chat(make_runtime: Callable[..., Any], llm: Server) -> Iterator[Api]:
    rt = make_runtime(llm_url=llm.v1, llm_model="smollm2", llm_timeout_s=120)
    with TestClient(create_app(rt)) as http:
        api = Api(http, None)
        api = api.with_key(api.create_tenant(f"t-{uuid.uuid4().hex[:6]}")["admin_key"])
        api.runtime = rt  # type: ignore[attr-defined]
        yield api


def _memo(api: Api) -> dict[str, Any]:
    doc = api.upload(DOCS / "fake-memo.pdf")[0]
    assert api.wait_done([doc["id"]])[doc["id"]]["status"] == "ready"
    return doc


QUESTION = "How many bottles of water, blankets and laptops were delivered?"


def test_openai_client_gets_answers_with_citations_stream_and_non_stream(chat: Api) -> None:
    import openai

    doc = _memo(chat)
    client = openai.OpenAI(base_url="http://testserver/v1", api_key=chat.key, http_client=chat.http)
    resp = client.chat.completions.create(
        model="enclave", messages=[{"role": "user", "content": QUESTION}], max_tokens=64, temperature=0
    )
    assert resp.choices[0].message.content
    assert resp.usage is not None and resp.usage.completion_tokens > 0
    cites = resp.model_extra["citations"]
    assert (
        cites[0]["document_id"] == doc["id"]
        and cites[0]["page"] == 1
        and cites[0]["filename"] == "fake-memo.pdf"
    )

    text, extra = "", []
    for chunk in client.chat.completions.create(
        model="enclave", messages=[{"role": "user", "content": QUESTION}], max_tokens=64, stream=True
    ):
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        elif chunk.model_extra.get("citations"):
            extra = chunk.model_extra["citations"]
    assert text.strip()
    assert extra and extra[0]["document_id"] == doc["id"] and extra[0]["page"] == 1


def test_langchain_chat_openai_gets_answers_with_citations(chat: Api) -> None:
    from langchain_openai import ChatOpenAI

    doc = _memo(chat)
    llm = ChatOpenAI(
        model="enclave",
        base_url="http://testserver/v1",
        api_key=chat.key,
        http_client=chat.http,
        include_response_headers=True,
        max_tokens=64,
        temperature=0,
    )
    msg = llm.invoke(QUESTION)
    assert msg.content
    cites = json.loads(msg.response_metadata["headers"]["x-enclave-citations"])
    assert cites[0]["document_id"] == doc["id"] and cites[0]["page"] == 1
    streamed = "".join(str(c.content) for c in llm.stream(QUESTION))
    assert streamed.strip()


def test_absent_topic_gets_the_not_in_your_documents_answer_without_an_llm_call(chat: Api) -> None:
    _memo(chat)
    r = chat.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "Which football club won the 1987 cup final?"}]},
    )
    body = r.json()
    assert r.status_code == 200 and body["choices"][0]["message"]["content"] == NOT_COVERED
    assert body["citations"] == [] and body["usage"]["completion_tokens"] == 0
    rt = chat.runtime  # type: ignore[attr-defined]
    event = rt.audit.events(chat_principal(chat), action="answer")[0]
    assert event.details["llm_called"] is False


def chat_principal(api: Api) -> Any:
    return api.runtime.keys.authenticate(api.key)  # type: ignore[attr-defined]


def test_citations_never_include_a_document_the_caller_may_not_see(chat: Api) -> None:
    other = chat.with_key(chat.create_tenant("other")["admin_key"])
    mine = chat.upload_text("The Rotterdam warehouse stores 500 crates of tulip bulbs.", title="warehouse")
    theirs = other.upload_text("The Rotterdam warehouse stores 900 crates of cheese.", title="warehouse")
    chat.wait_done([mine["id"]])
    other.wait_done([theirs["id"]])
    for api, own, foreign in ((chat, mine, theirs), (other, theirs, mine)):
        body = api.post(
            "/v1/chat/completions",
            json={
                "messages": [{"role": "user", "content": "What does the Rotterdam warehouse store?"}],
                "max_tokens": 48,
            },
        ).json()
        ids = {c["document_id"] for c in body["citations"]}
        assert ids == {own["id"]}, body["citations"]
        assert foreign["id"] not in json.dumps(body)


def test_follow_up_question_is_rewritten_and_retrieves_the_right_document(chat: Api) -> None:
    contoso = chat.upload_text(
        "Contoso Ltd quarterly report. Contoso revenue in the first quarter was 10 million dollars and in "
        "the second quarter it grew to 12 million dollars.",
        title="Contoso quarterly revenue",
    )
    decoy = chat.upload_text(
        "Gardening calendar: in the next quarter plant tulips and prune the roses before the frost.",
        title="Garden planning",
    )
    chat.wait_done([contoso["id"], decoy["id"]])
    history = [
        {"role": "user", "content": "What was Contoso's revenue in the first quarter?"},
        {"role": "assistant", "content": "It was 10 million dollars [1]."},
    ]
    rt = chat.runtime  # type: ignore[attr-defined]
    principal = chat_principal(chat)
    follow_up = {"role": "user", "content": "and in the next quarter?"}
    prep = rt.answers.prepare(principal, [*history, follow_up], None, None, 64, 1)
    assert "Contoso" in prep.query
    assert prep.sources[0].document_id == contoso["id"]
    # Without the history the same words find the gardening note instead.
    alone = rt.answers.prepare(principal, [follow_up], None, None, 64, 1)
    assert alone.sources[0].document_id == decoy["id"]


def test_conversations_are_stored_per_user_and_can_be_continued(chat: Api) -> None:
    _memo(chat)
    body = chat.post(
        "/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}], "max_tokens": 32}
    ).json()
    cid = body["conversation_id"]
    chat.post(
        "/v1/chat/completions",
        json={
            "conversation_id": cid,
            "messages": [{"role": "user", "content": "and the trucks?"}],
            "max_tokens": 32,
        },
    )
    conv = chat.get(f"/v1/conversations/{cid}").json()
    assert [m["role"] for m in conv["messages"]] == ["user", "assistant", "user", "assistant"]
    assert conv["messages"][1]["citations"]
    assert chat.post(f"/v1/conversations/{cid}", json={}).status_code == 405
    r = chat.http.patch(f"/v1/conversations/{cid}", json={"title": "Deliveries"}, headers=chat.headers)
    assert r.json()["title"] == "Deliveries"
    colleague = chat.with_key(chat.create_key("member")["key"])
    assert colleague.get(f"/v1/conversations/{cid}").status_code == 404
    assert colleague.get("/v1/conversations").json()["conversations"] == []
    assert chat.delete(f"/v1/conversations/{cid}").status_code == 204
    assert chat.get(f"/v1/conversations/{cid}").status_code == 404


def test_models_lists_collections_and_unknown_fields_are_ignored(chat: Api) -> None:
    chat.upload_text("Kiwi birds cannot fly.", title="kiwi", collection="birds")
    ids = [m["id"] for m in chat.get("/v1/models").json()["data"]]
    assert ids == ["enclave", "enclave:birds"]
    r = chat.post(
        "/v1/chat/completions",
        json={"model": "enclave:nonexistent", "messages": [{"role": "user", "content": "kiwi"}]},
    )
    assert r.status_code == 404
    r = chat.post(
        "/v1/chat/completions",
        json={
            "model": "enclave:birds",
            "messages": [{"role": "user", "content": "Can kiwi birds fly?"}],
            "max_tokens": 16,
            "frequency_penalty": 0,
            "logit_bias": {},
            "n": 1,
            "some_future_field": True,
        },
    )
    assert r.status_code == 200


def test_answers_are_audited_with_model_latency_and_tokens(chat: Api) -> None:
    doc = _memo(chat)
    chat.post(
        "/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}], "max_tokens": 32}
    )
    event = chat.runtime.audit.events(chat_principal(chat), action="answer")[0]  # type: ignore[attr-defined]
    assert event.query == QUESTION and doc["id"] in event.document_ids
    assert event.details["model"] == "enclave" and event.details["latency_ms"] > 0
    assert event.details["completion_tokens"] > 0


def test_citations_follow_the_document_acl_on_the_very_next_answer(chat: Api) -> None:
    """A group-restricted document is cited for a member of the group, never for anyone else, and the
    change of membership shows in the next answer: retrieval, prompt and citations all go through the
    caller's ACL tokens, with a real model answering."""
    from tests.api.test_acl import people

    p = people(chat)
    secret = p.alice.upload_text(
        "The Rotterdam warehouse stores 500 crates of tulip bulbs for the spring fair.",
        title="warehouse",
        acl={"users": [], "groups": [p.group_id]},
    )
    assert chat.wait_done([secret["id"]])[secret["id"]]["status"] == "ready"
    ask = {
        "messages": [{"role": "user", "content": "What does the Rotterdam warehouse store?"}],
        "max_tokens": 32,
    }

    def cited(api: Api) -> set[str]:
        body = api.post("/v1/chat/completions", json=ask).json()
        ids = {c["document_id"] for c in body["citations"]}
        if secret["id"] not in ids:
            assert "tulip" not in json.dumps(body).lower(), body  # nor does its text leak into the answer
        return ids

    assert secret["id"] in cited(p.alice)
    assert secret["id"] not in cited(p.bob)
    r = chat.post(f"/v1/groups/{p.group_id}/members", json={"user_id": p.bob_id})
    assert r.status_code == 204, r.text
    assert secret["id"] in cited(p.bob)
    chat.delete(f"/v1/groups/{p.group_id}/members/{p.bob_id}")
    assert secret["id"] not in cited(p.bob)
