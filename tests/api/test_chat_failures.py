"""Failure behaviour of answering: model down, rate limits, request limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from tests.procs import llama_server, stop
from tests.support import Api


def _api(rt: Any) -> tuple[TestClient, Api]:
    # One event loop for the whole test, as under uvicorn (the async model clients are bound to it).
    http = TestClient(create_app(rt))
    http.__enter__()
    api = Api(http, None)
    return http, api.with_key(api.create_tenant("t")["admin_key"])


@pytest.mark.llm
def test_killing_the_llm_gives_503_on_chat_while_search_still_answers(
    make_runtime: Callable[..., Any],
) -> None:
    with llama_server(alias="smollm2") as server:
        rt = make_runtime(llm_url=server.v1, llm_model="smollm2")
        http, api = _api(rt)
        doc = api.upload_text("The observatory opens at nine in the evening.", title="observatory")
        api.wait_done([doc["id"]])
        ask = {"messages": [{"role": "user", "content": "When does the observatory open?"}], "max_tokens": 16}
        assert api.post("/v1/chat/completions", json=ask).status_code == 200
        stop(server.proc)
        r = api.post("/v1/chat/completions", json=ask)
        assert r.status_code == 503 and "answering model is unavailable" in r.json()["detail"]
        r = api.post("/v1/chat/completions", json={**ask, "stream": True})
        assert r.status_code == 503
        assert api.search("observatory opening time")[0]["document_id"] == doc["id"]
        http.__exit__(None, None, None)


def test_per_tenant_rate_limit_answers_429_with_retry_after(make_runtime: Callable[..., Any]) -> None:
    rt = make_runtime(rate_limit_per_minute=3)
    http, api = _api(rt)
    other = api.with_key(api.create_tenant("other")["admin_key"])
    codes = [api.post("/v1/search", json={"query": "anything"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = api.post("/v1/search", json={"query": "anything"})
    assert 1 <= int(r.headers["Retry-After"]) <= 60 and "minute" in r.json()["detail"]
    assert other.post("/v1/search", json={"query": "anything"}).status_code == 200
    http.__exit__(None, None, None)


def test_oversized_chat_requests_are_refused(make_runtime: Callable[..., Any]) -> None:
    rt = make_runtime(max_request_kb=4)
    http, api = _api(rt)
    r = api.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x" * 8000}]})
    assert r.status_code == 413
    r = api.post("/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "hi"}]})
    assert r.status_code == 422 and "user message" in r.json()["detail"]
    http.__exit__(None, None, None)
