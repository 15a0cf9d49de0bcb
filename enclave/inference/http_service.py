"""One model service over HTTP: its pooled httpx clients, and the sync and async drivers of its retry policy.

Both drivers send, let `RetryPolicy.next_delay` decide, and sleep; they differ only in how they wait and read.
Plain and streamed requests share them: a streamed answer is retried only until its status line arrives,
since a half-streamed answer cannot be replayed.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from enclave import tracing
from enclave.inference.errors import ModelUnavailable
from enclave.inference.retry import RetryPolicy


class HttpService:
    def __init__(
        self, service: str, base_url: str, api_key: str | None, timeout_s: float, max_retries: int
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.policy = RetryPolicy(service, max(0, max_retries))
        self.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        self._client: httpx.Client | None = None
        self._aclient: httpx.AsyncClient | None = None

    @property
    def max_retries(self) -> int:
        return self.policy.max_retries

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = tracing.instrument_http_client(
                httpx.Client(
                    base_url=self.base_url, headers=self.headers, timeout=self.timeout, limits=self.limits
                )
            )
        return self._client

    @property
    def aclient(self) -> httpx.AsyncClient:
        if self._aclient is None:
            self._aclient = tracing.instrument_http_client(
                httpx.AsyncClient(
                    base_url=self.base_url, headers=self.headers, timeout=self.timeout, limits=self.limits
                )
            )
        return self._aclient

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _broken_stream(self, path: str, exc: httpx.TransportError) -> ModelUnavailable:
        return self.policy.unavailable(self.url(path), f"the answer broke off: {type(exc).__name__}: {exc}")

    # --- sync ----------------------------------------------------------------------------------
    def _send(self, method: str, path: str, body: dict[str, Any] | None, stream: bool) -> httpx.Response:
        """A response the policy accepted; streamed, its body is still unread and the caller closes it."""
        request = self.client.build_request(method, path, json=body)
        for attempt in itertools.count():
            response: httpx.Response | None = None
            exc: httpx.TransportError | None = None
            try:
                response = self.client.send(request, stream=stream)
                if response.status_code >= 400:
                    response.read()  # the policy quotes the error; reading also frees the connection
            except httpx.TransportError as e:
                if response is not None:
                    response.close()
                response, exc = None, e
            delay = self.policy.next_delay(self.url(path), attempt, response, exc)
            if delay is None and response is not None:
                return response
            time.sleep(delay or 0.0)
        raise AssertionError("unreachable")

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._send("POST", path, body, stream=False).json()

    def get(self, path: str) -> dict[str, Any]:
        return self._send("GET", path, None, stream=False).json()

    def stream_lines(self, path: str, body: dict[str, Any]) -> Iterator[str]:
        response = self._send("POST", path, body, stream=True)
        try:
            yield from response.iter_lines()
        except httpx.TransportError as exc:
            raise self._broken_stream(path, exc) from exc
        finally:
            response.close()

    # --- async ---------------------------------------------------------------------------------
    async def _asend(
        self, method: str, path: str, body: dict[str, Any] | None, stream: bool
    ) -> httpx.Response:
        request = self.aclient.build_request(method, path, json=body)
        for attempt in itertools.count():
            response: httpx.Response | None = None
            exc: httpx.TransportError | None = None
            try:
                response = await self.aclient.send(request, stream=stream)
                if response.status_code >= 400:
                    await response.aread()
            except httpx.TransportError as e:
                if response is not None:
                    await response.aclose()
                response, exc = None, e
            delay = self.policy.next_delay(self.url(path), attempt, response, exc)
            if delay is None and response is not None:
                return response
            await asyncio.sleep(delay or 0.0)
        raise AssertionError("unreachable")

    async def apost(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return (await self._asend("POST", path, body, stream=False)).json()

    async def astream_lines(self, path: str, body: dict[str, Any]) -> AsyncIterator[str]:
        response = await self._asend("POST", path, body, stream=True)
        try:
            async for line in response.aiter_lines():
                yield line
        except httpx.TransportError as exc:
            raise self._broken_stream(path, exc) from exc
        finally:
            await response.aclose()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        self.close()
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None
