"""The REST calls, described once: path, body and how to read the answer. The sync and the async client
both send these, so they cannot drift apart."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx

from enclave_client.errors import APIError
from enclave_client.models import Answer, Citation, Document, DocumentPage, Key, Passage
from enclave_client.retry import retry_after

T = TypeVar("T")
MODEL = "enclave"


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    params: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    uploads: Sequence[Path] = field(default_factory=tuple)  # opened afresh for every try


def error_of(response: httpx.Response) -> APIError:
    """The server's sentence ({"detail": "..."}), or the status line when the body has none."""
    detail: Any = None
    with contextlib.suppress(ValueError, AttributeError):
        detail = response.json().get("detail")
    if not isinstance(detail, str) or not detail:
        detail = f"The server answered {response.status_code} {response.reason_phrase}."
    return APIError(response.status_code, detail, retry_after(response))


def _nothing(_r: httpx.Response) -> None:
    return None


def _documents(r: httpx.Response) -> list[Document]:
    body = r.json()
    return [Document.of(d) for d in (body["documents"] if isinstance(body, dict) else body)]


def _page(r: httpx.Response) -> DocumentPage:
    b = r.json()
    return DocumentPage([Document.of(d) for d in b["documents"]], b["total"], b["limit"], b["offset"])


def upload(
    paths: Sequence[Path],
    collection: str | None,
    metadata: dict[str, Any] | None,
    acl: dict[str, list[str]] | None,
) -> Call[list[Document]]:
    form = {"collection": collection} if collection else {}
    if metadata:
        form["metadata"] = json.dumps(metadata)
    if acl is not None:
        form["acl"] = json.dumps(acl)
    return Call("POST", "/v1/documents", _documents, data=form, uploads=tuple(paths))


def upload_records(records: list[dict[str, Any]]) -> Call[list[Document]]:
    return Call("POST", "/v1/documents/text", _documents, json=records)


def list_documents(
    collection: str | None, status: str | None, q: str | None, limit: int, offset: int
) -> Call[DocumentPage]:
    params = {"collection": collection, "status": status, "q": q, "limit": limit, "offset": offset}
    return Call("GET", "/v1/documents", _page, params={k: v for k, v in params.items() if v is not None})


def get_document(document_id: str) -> Call[Document]:
    return Call("GET", f"/v1/documents/{document_id}", lambda r: Document.of(r.json()))


def delete_document(document_id: str) -> Call[None]:
    return Call("DELETE", f"/v1/documents/{document_id}", _nothing)


def search(query: str, collection: str | None, top_k: int) -> Call[list[Passage]]:
    body = {"query": query, "collection": collection, "top_k": top_k}
    return Call("POST", "/v1/search", lambda r: [Passage.of(p) for p in r.json()["results"]], json=body)


def chat_body(
    question: str, collection: str | None, conversation_id: str | None, max_tokens: int | None, stream: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": f"{MODEL}:{collection}" if collection else MODEL,
        "messages": [{"role": "user", "content": question}],
        "stream": stream,
    }
    if conversation_id:
        body["conversation_id"] = conversation_id
    if max_tokens:
        body["max_tokens"] = max_tokens
    return body


def _answer(r: httpx.Response) -> Answer:
    b = r.json()
    text = b["choices"][0]["message"].get("content") or ""
    return Answer(text, [Citation.of(c) for c in b.get("citations") or []], b.get("conversation_id"))


def chat(
    question: str, collection: str | None, conversation_id: str | None, max_tokens: int | None
) -> Call[Answer]:
    body = chat_body(question, collection, conversation_id, max_tokens, stream=False)
    return Call("POST", "/v1/chat/completions", _answer, json=body)


def create_key(role: str, name: str, user_id: str | None) -> Call[Key]:
    body = {"role": role, "name": name, **({"user_id": user_id} if user_id else {})}
    return Call("POST", "/v1/keys", lambda r: Key.of(r.json()), json=body)


def list_keys() -> Call[list[Key]]:
    return Call("GET", "/v1/keys", lambda r: [Key.of(k) for k in r.json()["keys"]])


def revoke_key(key_id: str) -> Call[None]:
    return Call("DELETE", f"/v1/keys/{key_id}", _nothing)


def me() -> Call[dict[str, Any]]:
    return Call("GET", "/v1/me", lambda r: r.json())


def audit_events(action: str | None, limit: int) -> Call[list[dict[str, Any]]]:
    params = {"limit": limit, **({"action": action} if action else {})}
    return Call("GET", "/v1/audit", lambda r: r.json()["events"], params=params)
