"""The one HTTP client per model service: embeddings, chat and ranking over OpenAI/NIM-style APIs.

Each instance owns one pooled httpx client. Connection errors, 429 and 502/503/504 are retried with
exponential backoff (honouring Retry-After); when the service stays unreachable the caller gets
`ModelUnavailable`, and a refused request (other 4xx) gets `ModelRequestError`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import numpy as np

from enclave.inference.errors import ModelRequestError, ModelUnavailable

RETRY_STATUSES = frozenset({429, 502, 503, 504})
_BACKOFF_BASE_S = 0.25
_BACKOFF_MAX_S = 8.0


def _backoff_s(attempt: int, response: httpx.Response | None) -> float:
    if response is not None:
        try:
            return min(float(response.headers.get("retry-after", "")), _BACKOFF_MAX_S)
        except ValueError:
            pass
    return min(_BACKOFF_BASE_S * 2**attempt, _BACKOFF_MAX_S)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        err = body.get("detail") or body.get("error") or body
        if isinstance(err, dict):
            err = err.get("message", err)
        return str(err)[:500]
    return str(body)[:500]


class _Service:
    """Retry policy and pooled clients shared by the three clients below."""

    def __init__(
        self, service: str, base_url: str, api_key: str | None, timeout_s: float, max_retries: int
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.max_retries = max(0, max_retries)
        self.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        self._client: httpx.Client | None = None
        self._aclient: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url, headers=self.headers, timeout=self.timeout, limits=self.limits
            )
        return self._client

    @property
    def aclient(self) -> httpx.AsyncClient:
        if self._aclient is None:
            self._aclient = httpx.AsyncClient(
                base_url=self.base_url, headers=self.headers, timeout=self.timeout, limits=self.limits
            )
        return self._aclient

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _unavailable(self, path: str, reason: str) -> ModelUnavailable:
        return ModelUnavailable(self.service, self._url(path), reason, attempts=self.max_retries + 1)

    def _check(self, path: str, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise ModelRequestError(self.service, self._url(path), response.status_code, _detail(response))

    def _retryable(self, attempt: int, response: httpx.Response | None) -> bool:
        retry = response is None or response.status_code in RETRY_STATUSES
        return retry and attempt < self.max_retries

    @staticmethod
    def _reason(response: httpx.Response | None, exc: Exception | None) -> str:
        if response is not None:
            return f"HTTP {response.status_code} {_detail(response)}"
        return f"{type(exc).__name__}: {exc}"

    # --- sync ----------------------------------------------------------------------------------
    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._send(lambda: self.client.post(path, json=body), path)
        return response.json()

    def get(self, path: str) -> dict[str, Any]:
        return self._send(lambda: self.client.get(path), path).json()

    def _send(self, call: Any, path: str) -> httpx.Response:
        for attempt in range(self.max_retries + 1):
            response: httpx.Response | None = None
            exc: Exception | None = None
            try:
                response = call()
            except httpx.TransportError as e:
                exc = e
            if response is not None and response.status_code not in RETRY_STATUSES:
                self._check(path, response)
                return response
            if not self._retryable(attempt, response):
                raise self._unavailable(path, self._reason(response, exc)) from exc
            time.sleep(_backoff_s(attempt, response))
        raise AssertionError("unreachable")

    def stream_lines(self, path: str, body: dict[str, Any]) -> Iterator[str]:
        for attempt in range(self.max_retries + 1):
            exc: Exception | None = None
            try:
                with self.client.stream("POST", path, json=body) as response:
                    if response.status_code not in RETRY_STATUSES:
                        if response.status_code >= 400:
                            response.read()
                            self._check(path, response)
                        yield from response.iter_lines()
                        return
                    response.read()
            except httpx.TransportError as e:
                # Only a failure before the first line is retried: a half-streamed answer is not replayed.
                exc, response = e, None
            if not self._retryable(attempt, response):
                raise self._unavailable(path, self._reason(response, exc)) from exc
            time.sleep(_backoff_s(attempt, response))

    # --- async ---------------------------------------------------------------------------------
    async def apost(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(self.max_retries + 1):
            response: httpx.Response | None = None
            exc: Exception | None = None
            try:
                response = await self.aclient.post(path, json=body)
            except httpx.TransportError as e:
                exc = e
            if response is not None and response.status_code not in RETRY_STATUSES:
                self._check(path, response)
                return response.json()
            if not self._retryable(attempt, response):
                raise self._unavailable(path, self._reason(response, exc)) from exc
            await asyncio.sleep(_backoff_s(attempt, response))
        raise AssertionError("unreachable")

    async def astream_lines(self, path: str, body: dict[str, Any]) -> AsyncIterator[str]:
        for attempt in range(self.max_retries + 1):
            exc: Exception | None = None
            try:
                async with self.aclient.stream("POST", path, json=body) as response:
                    if response.status_code not in RETRY_STATUSES:
                        if response.status_code >= 400:
                            await response.aread()
                            self._check(path, response)
                        async for line in response.aiter_lines():
                            yield line
                        return
                    await response.aread()
            except httpx.TransportError as e:
                exc, response = e, None
            if not self._retryable(attempt, response):
                raise self._unavailable(path, self._reason(response, exc)) from exc
            await asyncio.sleep(_backoff_s(attempt, response))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        self.close()
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None


def _sse_chunks(line: str) -> dict[str, Any] | None:
    """One SSE line -> the chunk JSON; None for keep-alives, comments and the closing [DONE]."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if not data or data == "[DONE]":
        return None
    return json.loads(data)


def _decode_embedding(value: list[float] | str) -> np.ndarray:
    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value), dtype="<f4").astype(np.float32)
    return np.asarray(value, dtype=np.float32)


def _normalise(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)


class HttpEmbedder:
    """Embeddings from an OpenAI-compatible `/v1/embeddings` (our embedder service, NIM, vLLM...)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 30,
        max_retries: int = 4,
        batch_size: int = 64,
        encoding_format: str = "float",
        send_input_type: bool = True,
    ) -> None:
        self.model = model
        self.batch_size = max(1, batch_size)
        self.encoding_format = encoding_format
        self.send_input_type = send_input_type
        self._service = _Service("embedding", base_url, api_key, timeout_s, max_retries)
        self._dimension: int | None = None

    def _embed(self, texts: list[str], input_type: str) -> np.ndarray:
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch_size):
            body: dict[str, Any] = {
                "model": self.model,
                "input": texts[start : start + self.batch_size],
                "encoding_format": self.encoding_format,
            }
            if self.send_input_type:
                body["input_type"] = input_type
            data = self._service.post("/embeddings", body)["data"]
            rows.extend(_decode_embedding(d["embedding"]) for d in sorted(data, key=lambda d: d["index"]))
        return _normalise(np.vstack(rows))

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._embed(texts, "passage")

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text], "query")[0]

    @property
    def dimension(self) -> int:
        # OpenAI's /v1/models does not say the dimension, so ask the model once with a tiny input.
        if self._dimension is None:
            self._dimension = int(self._embed(["dimension"], "query").shape[1])
        return self._dimension

    def close(self) -> None:
        self._service.close()


class ChatClient:
    """Chat completions from an OpenAI-compatible `/v1/chat/completions` (vLLM, NIM, llama.cpp)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 60,
        max_retries: int = 2,
    ) -> None:
        self.model = model
        self._service = _Service("chat", base_url, api_key, timeout_s, max_retries)

    def _body(self, messages: list[dict[str, Any]], stream: bool, params: dict[str, Any]) -> dict[str, Any]:
        return {"model": self.model, **params, "messages": messages, "stream": stream}

    def complete(self, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        return self._service.post("/chat/completions", self._body(messages, False, params))

    def stream(self, messages: list[dict[str, Any]], **params: Any) -> Iterator[dict[str, Any]]:
        for line in self._service.stream_lines("/chat/completions", self._body(messages, True, params)):
            chunk = _sse_chunks(line)
            if chunk is not None:
                yield chunk

    async def acomplete(self, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        return await self._service.apost("/chat/completions", self._body(messages, False, params))

    async def astream(self, messages: list[dict[str, Any]], **params: Any) -> AsyncIterator[dict[str, Any]]:
        body = self._body(messages, True, params)
        async for line in self._service.astream_lines("/chat/completions", body):
            chunk = _sse_chunks(line)
            if chunk is not None:
                yield chunk

    def models(self) -> list[str]:
        return [m["id"] for m in self._service.get("/models").get("data", [])]

    def close(self) -> None:
        self._service.close()

    async def aclose(self) -> None:
        await self._service.aclose()


class RankingClient:
    """Passage reranking over the NIM `/v1/ranking` API (our embedder service or a NIM reranker)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 30,
        max_retries: int = 4,
    ) -> None:
        self.model = model
        self._service = _Service("ranking", base_url, api_key, timeout_s, max_retries)

    def _body(self, query: str, passages: list[str]) -> dict[str, Any]:
        return {
            "model": self.model,
            "query": {"text": query},
            "passages": [{"text": p} for p in passages],
            "truncate": "END",
        }

    @staticmethod
    def _parse(data: dict[str, Any]) -> list[tuple[int, float]]:
        return [(int(r["index"]), float(r["logit"])) for r in data["rankings"]]

    def rank(self, query: str, passages: list[str]) -> list[tuple[int, float]]:
        """(passage index, logit) pairs, best first."""
        if not passages:
            return []
        return self._parse(self._service.post("/ranking", self._body(query, passages)))

    async def arank(self, query: str, passages: list[str]) -> list[tuple[int, float]]:
        if not passages:
            return []
        return self._parse(await self._service.apost("/ranking", self._body(query, passages)))

    def close(self) -> None:
        self._service.close()

    async def aclose(self) -> None:
        await self._service.aclose()
