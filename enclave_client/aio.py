"""The asynchronous client: `AsyncEnclaveClient`, the same calls as `EnclaveClient`, awaited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from enclave_client import calls
from enclave_client.calls import Call, error_of
from enclave_client.client import DEFAULT_URL, headers_for, request_kwargs
from enclave_client.errors import ConnectionFailed, NotReady
from enclave_client.models import Answer, Document, DocumentPage, Key, Passage, StreamEvent
from enclave_client.retry import RetryPolicy, retry_after, should_retry
from enclave_client.streaming import AnswerStream

T = TypeVar("T")


class AsyncEnclaveClient:
    """Use as `async with AsyncEnclaveClient(url, key) as client: ...`; see `EnclaveClient`."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._own = http is None
        self._http = http or httpx.AsyncClient(base_url=self.url, timeout=timeout)
        self._headers = headers_for(api_key)

    async def aclose(self) -> None:
        if self._own:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncEnclaveClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # --- sending, with retries ------------------------------------------------------------------
    async def _try(self, call: Call[Any], attempt: int) -> httpx.Response | float:
        with ExitStack() as stack:
            try:
                kw = request_kwargs(call, stack)
                r = await self._http.request(call.method, call.path, headers=self._headers, **kw)
            except httpx.TransportError as exc:
                wait = self.retry.wait(attempt)
                if wait is None:
                    raise ConnectionFailed(f"Could not reach Enclave at {self.url}: {exc}") from exc
                return wait
        wait = self.retry.wait(attempt, retry_after(r)) if should_retry(r) else None
        return r if wait is None else wait

    async def send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            outcome = await self._try(call, attempt)
            if isinstance(outcome, httpx.Response):
                if outcome.is_error:
                    raise error_of(outcome)
                return call.parse(outcome)
            await asyncio.sleep(outcome)
            attempt += 1

    @asynccontextmanager
    async def _stream(self, call: Call[Any]) -> AsyncIterator[httpx.Response]:
        attempt = 0
        while True:
            wait: float | None = None
            try:
                req = self._http.build_request(call.method, call.path, json=call.json, headers=self._headers)
                r = await self._http.send(req, stream=True)
            except httpx.TransportError as exc:
                wait = self.retry.wait(attempt)
                if wait is None:
                    raise ConnectionFailed(f"Could not reach Enclave at {self.url}: {exc}") from exc
            else:
                if not r.is_error:
                    try:
                        yield r
                    finally:
                        await r.aclose()
                    return
                await r.aread()
                await r.aclose()
                wait = self.retry.wait(attempt, retry_after(r)) if should_retry(r) else None
                if wait is None:
                    raise error_of(r)
            await asyncio.sleep(wait)
            attempt += 1

    # --- documents ------------------------------------------------------------------------------
    async def upload_file(
        self,
        path: str | Path | Sequence[str | Path],
        collection: str | None = None,
        metadata: dict[str, Any] | None = None,
        acl: dict[str, list[str]] | None = None,
    ) -> list[Document]:
        paths = [Path(path)] if isinstance(path, str | Path) else [Path(p) for p in path]
        return await self.send(calls.upload(paths, collection, metadata, acl))

    async def upload_records(self, records: list[dict[str, Any]]) -> list[Document]:
        return await self.send(calls.upload_records(records))

    async def list_documents(
        self,
        collection: str | None = None,
        status: str | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> DocumentPage:
        return await self.send(calls.list_documents(collection, status, q, limit, offset))

    async def all_documents(self, collection: str | None = None) -> list[Document]:
        out: list[Document] = []
        while True:
            page = await self.list_documents(collection, limit=500, offset=len(out))
            out += page.documents
            if not page.documents or len(out) >= page.total:
                return out

    async def get_document(self, document_id: str) -> Document:
        return await self.send(calls.get_document(document_id))

    async def delete_document(self, document_id: str) -> None:
        await self.send(calls.delete_document(document_id))

    async def wait_until_ready(
        self, document_ids: Sequence[str], timeout: float = 600.0, poll_s: float = 1.0
    ) -> dict[str, Document]:
        done: dict[str, Document] = {}
        deadline = time.monotonic() + timeout
        while True:
            pending = [d for d in document_ids if d not in done]
            for doc in await asyncio.gather(*(self.get_document(d) for d in pending)):
                if doc.done:
                    done[doc.id] = doc
            pending = [d for d in document_ids if d not in done]
            if not pending:
                return done
            if time.monotonic() > deadline:
                raise NotReady(pending, timeout)
            await asyncio.sleep(poll_s)

    # --- search and answers ---------------------------------------------------------------------
    async def search(self, query: str, collection: str | None = None, top_k: int = 10) -> list[Passage]:
        return await self.send(calls.search(query, collection, top_k))

    async def ask(
        self,
        question: str,
        collection: str | None = None,
        conversation_id: str | None = None,
        max_tokens: int | None = None,
    ) -> Answer:
        return await self.send(calls.chat(question, collection, conversation_id, max_tokens))

    async def ask_stream(
        self,
        question: str,
        collection: str | None = None,
        conversation_id: str | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[StreamEvent]:
        body = calls.chat_body(question, collection, conversation_id, max_tokens, stream=True)
        reader = AnswerStream()
        async with self._stream(Call("POST", "/v1/chat/completions", lambda r: None, json=body)) as r:
            async for line in r.aiter_lines():
                event = reader.feed(line)
                if event is not None:
                    yield event

    # --- keys and the caller ----------------------------------------------------------------------
    async def create_key(self, role: str = "member", name: str = "", user_id: str | None = None) -> Key:
        return await self.send(calls.create_key(role, name, user_id))

    async def list_keys(self) -> list[Key]:
        return await self.send(calls.list_keys())

    async def revoke_key(self, key_id: str) -> None:
        await self.send(calls.revoke_key(key_id))

    async def me(self) -> dict[str, Any]:
        return await self.send(calls.me())

    async def audit_events(self, action: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return await self.send(calls.audit_events(action, limit))
