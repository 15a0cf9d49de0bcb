"""The synchronous client: `EnclaveClient(url, api_key)` for documents, search, answers and keys."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from enclave_client import calls
from enclave_client.calls import Call, error_of
from enclave_client.errors import ConnectionFailed, NotReady
from enclave_client.models import Answer, Document, DocumentPage, Key, Passage, StreamEvent
from enclave_client.retry import RetryPolicy, retry_after, should_retry
from enclave_client.streaming import AnswerStream

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"


def headers_for(api_key: str | None) -> dict[str, str]:
    key = api_key if api_key is not None else os.environ.get("ENCLAVE_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def request_kwargs(call: Call[Any], stack: ExitStack) -> dict[str, Any]:
    """httpx arguments of one try; upload files are opened here, so every try sends them whole."""
    kw: dict[str, Any] = {"params": call.params}
    if call.json is not None:
        kw["json"] = call.json
    if call.uploads:
        kw["files"] = [("files", (p.name, stack.enter_context(p.open("rb")))) for p in call.uploads]
        kw["data"] = call.data or {}
    return kw


class EnclaveClient:
    """A typed client for Enclave's REST API. The key defaults to $ENCLAVE_API_KEY. Connection errors,
    429 and 5xx answers are retried with backoff (honouring Retry-After); other errors raise `APIError`
    with the server's sentence."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._own = http is None
        self._http = http or httpx.Client(base_url=self.url, timeout=timeout)
        self._headers = headers_for(api_key)

    def close(self) -> None:
        if self._own:
            self._http.close()

    def __enter__(self) -> EnclaveClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- sending, with retries ------------------------------------------------------------------
    def _try(self, call: Call[Any], attempt: int) -> httpx.Response | float:
        """One try: the response to keep, or the seconds to wait before the next try."""
        with ExitStack() as stack:
            try:
                kw = request_kwargs(call, stack)
                r = self._http.request(call.method, call.path, headers=self._headers, **kw)
            except httpx.TransportError as exc:
                wait = self.retry.wait(attempt)
                if wait is None:
                    raise ConnectionFailed(f"Could not reach Enclave at {self.url}: {exc}") from exc
                return wait
        wait = self.retry.wait(attempt, retry_after(r)) if should_retry(r) else None
        return r if wait is None else wait

    def send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            outcome = self._try(call, attempt)
            if isinstance(outcome, httpx.Response):
                if outcome.is_error:
                    raise error_of(outcome)
                return call.parse(outcome)
            time.sleep(outcome)
            attempt += 1

    @contextmanager
    def _stream(self, call: Call[Any]) -> Iterator[httpx.Response]:
        """A streamed response that started well; retried like `send` until the first byte."""
        attempt = 0
        while True:
            wait: float | None = None
            try:
                req = self._http.build_request(call.method, call.path, json=call.json, headers=self._headers)
                r = self._http.send(req, stream=True)
            except httpx.TransportError as exc:
                wait = self.retry.wait(attempt)
                if wait is None:
                    raise ConnectionFailed(f"Could not reach Enclave at {self.url}: {exc}") from exc
            else:
                if not r.is_error:
                    try:
                        yield r
                    finally:
                        r.close()
                    return
                r.read()
                r.close()
                wait = self.retry.wait(attempt, retry_after(r)) if should_retry(r) else None
                if wait is None:
                    raise error_of(r)
            time.sleep(wait)
            attempt += 1

    # --- documents ------------------------------------------------------------------------------
    def upload_file(
        self,
        path: str | Path | Sequence[str | Path],
        collection: str | None = None,
        metadata: dict[str, Any] | None = None,
        acl: dict[str, list[str]] | None = None,
    ) -> list[Document]:
        paths = [Path(path)] if isinstance(path, str | Path) else [Path(p) for p in path]
        return self.send(calls.upload(paths, collection, metadata, acl))

    def upload_records(self, records: list[dict[str, Any]]) -> list[Document]:
        return self.send(calls.upload_records(records))

    def list_documents(
        self,
        collection: str | None = None,
        status: str | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> DocumentPage:
        return self.send(calls.list_documents(collection, status, q, limit, offset))

    def all_documents(self, collection: str | None = None) -> list[Document]:
        out: list[Document] = []
        while True:
            page = self.list_documents(collection, limit=500, offset=len(out))
            out += page.documents
            if not page.documents or len(out) >= page.total:
                return out

    def get_document(self, document_id: str) -> Document:
        return self.send(calls.get_document(document_id))

    def delete_document(self, document_id: str) -> None:
        self.send(calls.delete_document(document_id))

    def wait_until_ready(
        self, document_ids: Sequence[str], timeout: float = 600.0, poll_s: float = 1.0
    ) -> dict[str, Document]:
        """Polls until every document is ready or failed; returns them by id (check `.status`)."""
        done: dict[str, Document] = {}
        deadline = time.monotonic() + timeout
        while True:
            for doc_id in [d for d in document_ids if d not in done]:
                doc = self.get_document(doc_id)
                if doc.done:
                    done[doc_id] = doc
            pending = [d for d in document_ids if d not in done]
            if not pending:
                return done
            if time.monotonic() > deadline:
                raise NotReady(pending, timeout)
            time.sleep(poll_s)

    # --- search and answers ---------------------------------------------------------------------
    def search(self, query: str, collection: str | None = None, top_k: int = 10) -> list[Passage]:
        return self.send(calls.search(query, collection, top_k))

    def ask(
        self,
        question: str,
        collection: str | None = None,
        conversation_id: str | None = None,
        max_tokens: int | None = None,
    ) -> Answer:
        return self.send(calls.chat(question, collection, conversation_id, max_tokens))

    def ask_stream(
        self,
        question: str,
        collection: str | None = None,
        conversation_id: str | None = None,
        max_tokens: int | None = None,
    ) -> Iterator[StreamEvent]:
        """Pieces of the answer as they come (`event.text`), then one event with the whole `answer`."""
        body = calls.chat_body(question, collection, conversation_id, max_tokens, stream=True)
        reader = AnswerStream()
        with self._stream(Call("POST", "/v1/chat/completions", lambda r: None, json=body)) as r:
            for line in r.iter_lines():
                event = reader.feed(line)
                if event is not None:
                    yield event

    # --- keys and the caller ----------------------------------------------------------------------
    def create_key(self, role: str = "member", name: str = "", user_id: str | None = None) -> Key:
        return self.send(calls.create_key(role, name, user_id))

    def list_keys(self) -> list[Key]:
        return self.send(calls.list_keys())

    def revoke_key(self, key_id: str) -> None:
        self.send(calls.revoke_key(key_id))

    def me(self) -> dict[str, Any]:
        return self.send(calls.me())

    def audit_events(self, action: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The tenant's audit log, newest first (admin keys only)."""
        return self.send(calls.audit_events(action, limit))
