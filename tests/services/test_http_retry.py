"""The one retry loop of the model clients: what it decides after each attempt, and that every way of calling
a service (sync and async, plain and streamed) follows it against a real HTTP server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from enclave.inference.errors import ModelRequestError, ModelUnavailable
from enclave.inference.http_clients import ChatClient, RankingClient
from enclave.inference.retry import RetryPolicy

URL = "http://model.test/v1/ranking"
MESSAGES = [{"role": "user", "content": "hi"}]


def _response(status: int, headers: dict[str, str] | None = None, body: Any = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, json=body if body is not None else {"detail": "no"})


# --- the decision ---------------------------------------------------------------------------------------
def test_a_successful_answer_is_used() -> None:
    assert RetryPolicy("ranking", 3).next_delay(URL, 0, _response(200)) is None


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_an_overloaded_service_is_retried_with_exponential_backoff(status: int) -> None:
    policy = RetryPolicy("ranking", 3)
    assert [policy.next_delay(URL, a, _response(status)) for a in range(3)] == [0.25, 0.5, 1.0]


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy("ranking", 3)
    assert policy.next_delay(URL, 0, _response(429, {"retry-after": "2"})) == 2.0
    assert policy.next_delay(URL, 0, _response(503, {"retry-after": "600"})) == 8.0


def test_a_transport_error_is_retried_then_reported_as_unavailable() -> None:
    policy = RetryPolicy("ranking", 1)
    refused = httpx.ConnectError("connection refused")
    assert policy.next_delay(URL, 0, None, refused) == 0.25
    with pytest.raises(ModelUnavailable, match="ConnectError: connection refused") as err:
        policy.next_delay(URL, 1, None, refused)
    assert err.value.attempts == 2 and err.value.__cause__ is refused
    assert "ranking service" in str(err.value) and URL in str(err.value)


def test_the_last_overloaded_answer_is_reported_as_unavailable_with_its_detail() -> None:
    with pytest.raises(ModelUnavailable, match="HTTP 503 loading") as err:
        RetryPolicy("chat", 0).next_delay(URL, 0, _response(503, body={"detail": "loading"}))
    assert err.value.attempts == 1


@pytest.mark.parametrize("status", [400, 401, 404, 422, 500])
def test_a_refused_request_is_never_retried(status: int) -> None:
    with pytest.raises(ModelRequestError, match="bad input") as err:
        RetryPolicy("chat", 5).next_delay(URL, 0, _response(status, body={"error": {"message": "bad input"}}))
    assert err.value.status == status


# --- the drivers, against a scripted server -------------------------------------------------------------
@dataclass
class Script:
    """Statuses to answer before the real answer, and how many requests arrived."""

    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: int = 0
    url: str = ""


def _ok_body(path: str, body: dict[str, Any]) -> tuple[bytes, str]:
    if path.endswith("/ranking"):
        return json.dumps({"rankings": [{"index": 0, "logit": 1.5}]}).encode(), "application/json"
    if body.get("stream"):
        chunks = [{"choices": [{"delta": {"content": w}}]} for w in ("red", " light")]
        sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return sse.encode(), "text/event-stream"
    return json.dumps({"choices": [{"message": {"content": "red"}}]}).encode(), "application/json"


@contextmanager
def scripted(*failures: int | tuple[int, dict[str, str]]) -> Iterator[Script]:
    script = Script([f if isinstance(f, tuple) else (f, {}) for f in failures])
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            with lock:
                script.requests += 1
                status, headers = script.failures.pop(0) if script.failures else (200, {})
            if status == 200:
                data, kind = _ok_body(self.path, body)
            else:
                data, kind = json.dumps({"detail": f"scripted {status}"}).encode(), "application/json"
            self.send_response(status)
            for name, value in {**headers, "content-type": kind, "content-length": str(len(data))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()


async def _alist(items: Any) -> list[Any]:
    return [item async for item in items]


def _call(way: str, url: str, max_retries: int) -> Any:
    chat = ChatClient(url, "m", max_retries=max_retries)
    ranking = RankingClient(url, "r", max_retries=max_retries)
    try:
        if way == "rank":
            return ranking.rank("q", ["p"])
        if way == "arank":
            return asyncio.run(ranking.arank("q", ["p"]))
        if way == "complete":
            return chat.complete(MESSAGES)["choices"][0]["message"]["content"]
        if way == "acomplete":
            return asyncio.run(chat.acomplete(MESSAGES))["choices"][0]["message"]["content"]
        if way == "stream":
            return "".join(c["choices"][0]["delta"]["content"] for c in chat.stream(MESSAGES))
        chunks = asyncio.run(_alist(chat.astream(MESSAGES)))
        return "".join(c["choices"][0]["delta"]["content"] for c in chunks)
    finally:
        chat.close()
        ranking.close()


WAYS = ["rank", "arank", "complete", "acomplete", "stream", "astream"]
EXPECTED = {"rank": [(0, 1.5)], "arank": [(0, 1.5)], "complete": "red", "acomplete": "red"}


@pytest.mark.parametrize("way", WAYS)
def test_every_call_retries_an_overloaded_service_until_it_answers(way: str) -> None:
    with scripted(503, (429, {"retry-after": "0"}), (502, {"retry-after": "0"})) as script:
        assert _call(way, script.url, max_retries=3) == EXPECTED.get(way, "red light")
    assert script.requests == 4


@pytest.mark.parametrize("way", WAYS)
def test_every_call_gives_up_after_the_last_attempt(way: str) -> None:
    gone = pytest.raises(ModelUnavailable, match="HTTP 503 scripted 503")
    with scripted(*[(503, {"retry-after": "0"})] * 5) as script, gone as err:
        _call(way, script.url, max_retries=2)
    assert script.requests == 3 and err.value.attempts == 3


@pytest.mark.parametrize("way", WAYS)
def test_every_call_reports_a_refused_request_at_once(way: str) -> None:
    with scripted(400, 400) as script, pytest.raises(ModelRequestError, match="scripted 400") as err:
        _call(way, script.url, max_retries=3)
    assert script.requests == 1 and err.value.status == 400
