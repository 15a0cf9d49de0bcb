"""The one HTTP client per model service: embeddings, chat and ranking over OpenAI/NIM-style APIs.

Each instance owns one `HttpService` (pooled httpx clients and the retry policy of `enclave.inference.retry`):
connection errors, 429 and 502/503/504 are retried with backoff; when the service stays unreachable the caller
gets `ModelUnavailable`, and a refused request (other 4xx) gets `ModelRequestError`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np

from enclave.inference.http_service import HttpService
from enclave.inference.retry import RETRY_STATUSES

__all__ = ["RETRY_STATUSES", "ChatClient", "HttpEmbedder", "RankingClient"]


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
        self._service = HttpService("embedding", base_url, api_key, timeout_s, max_retries)
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
        self._service = HttpService("chat", base_url, api_key, timeout_s, max_retries)

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
        self._service = HttpService("ranking", base_url, api_key, timeout_s, max_retries)

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
