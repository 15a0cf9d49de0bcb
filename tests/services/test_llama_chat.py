"""The shared ChatClient against a real llama.cpp server running the bundled SmolLM2 GGUF."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from enclave.inference.errors import ModelRequestError
from enclave.inference.http_clients import RETRY_STATUSES, ChatClient
from tests.procs import Server, llama_server

pytestmark = pytest.mark.llm
MESSAGES = [{"role": "user", "content": "Name one colour of the rainbow."}]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with llama_server(alias="smollm2") as s:
        yield s


@pytest.fixture
def chat(server: Server) -> Iterator[ChatClient]:
    client = ChatClient(server.v1, "smollm2", timeout_s=120)
    yield client
    client.close()


def test_a_non_streamed_completion_has_the_openai_shape(chat: ChatClient) -> None:
    response = chat.complete(MESSAGES, max_tokens=16, temperature=0)
    assert response["object"] == "chat.completion"
    message = response["choices"][0]["message"]
    assert message["role"] == "assistant"
    assert message["content"].strip()
    assert response["usage"]["completion_tokens"] > 0


def test_a_streamed_completion_arrives_in_chunks(chat: ChatClient) -> None:
    chunks = list(chat.stream(MESSAGES, max_tokens=16, temperature=0))
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert len(chunks) > 2
    assert text.strip()


def test_the_async_variants_give_the_same_greedy_answer(chat: ChatClient) -> None:
    expected = chat.complete(MESSAGES, max_tokens=12, temperature=0)["choices"][0]["message"]["content"]

    async def both() -> tuple[str, str]:
        done = await chat.acomplete(MESSAGES, max_tokens=12, temperature=0)
        streamed = [c async for c in chat.astream(MESSAGES, max_tokens=12, temperature=0)]
        await chat.aclose()
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in streamed if c["choices"])
        return done["choices"][0]["message"]["content"], text

    done, streamed = asyncio.run(both())
    assert done == expected
    assert streamed == expected


def test_the_served_model_is_listed(chat: ChatClient) -> None:
    assert chat.models() == ["smollm2"]


def test_a_malformed_request_is_refused_at_once_with_the_servers_reason(chat: ChatClient) -> None:
    started = time.monotonic()
    with pytest.raises(ModelRequestError) as err:
        chat.complete([{"role": "nobody", "content": 3}])  # type: ignore[dict-item]
    assert time.monotonic() - started < 0.25  # no backoff: retrying cannot fix a bad request
    assert err.value.status not in RETRY_STATUSES  # llama.cpp answers 500 for validation errors
    assert "role" in err.value.detail


def test_a_health_check_during_a_stream_does_not_cut_the_stream_short(
    chat: ChatClient, server: Server
) -> None:
    """Compose and the chart probe /v1/models every few seconds; llama-cpp-python's server, left to its
    default, ends a running stream when another request arrives."""
    seen: list[str] = []
    for chunk in chat.stream(MESSAGES, max_tokens=48, temperature=0):
        if chunk["choices"]:
            seen.append(chunk["choices"][0]["delta"].get("content") or "")
            if len(seen) == 2:
                assert httpx.get(f"{server.v1}/models", timeout=30).status_code == 200
        finish = chunk["choices"][0].get("finish_reason") if chunk["choices"] else None
    assert len(seen) > 4, seen
    assert finish in ("stop", "length")
