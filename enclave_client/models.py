"""The records the client returns: plain dataclasses built from the REST API's JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL = frozenset({"ready", "failed"})


@dataclass(frozen=True)
class Document:
    id: str
    filename: str
    collection: str
    status: str
    sha256: str
    size: int
    error: str | None = None
    pages: int | None = None
    chunks: int | None = None
    title: str | None = None
    external_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    duplicate: bool = False  # the upload matched a document already in the collection

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Document:
        return cls(
            id=raw["id"],
            filename=raw.get("filename", ""),
            collection=raw.get("collection", ""),
            status=raw.get("status", ""),
            sha256=raw.get("sha256", ""),
            size=int(raw.get("size") or 0),
            error=raw.get("error"),
            pages=raw.get("pages"),
            chunks=raw.get("chunks"),
            title=raw.get("title"),
            external_id=raw.get("external_id"),
            metadata=raw.get("metadata") or {},
            duplicate=bool(raw.get("duplicate")),
        )


@dataclass(frozen=True)
class DocumentPage:
    documents: list[Document]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class Passage:
    """One search hit: a chunk of a document, its page and its score."""

    document_id: str
    filename: str
    page: int | None
    score: float
    text: str
    chunk: int = 0
    title: str | None = None
    collection: str | None = None

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Passage:
        return cls(
            document_id=raw["document_id"],
            filename=raw.get("filename", ""),
            page=raw.get("page"),
            score=float(raw.get("score") or 0.0),
            text=raw.get("text", ""),
            chunk=int(raw.get("chunk") or 0),
            title=raw.get("title"),
            collection=raw.get("collection"),
        )


@dataclass(frozen=True)
class Citation:
    index: int
    document_id: str
    filename: str
    page: int | None
    snippet: str = ""
    score: float = 0.0
    cited: bool = True

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Citation:
        return cls(
            index=int(raw.get("index") or 0),
            document_id=raw["document_id"],
            filename=raw.get("filename", ""),
            page=raw.get("page"),
            snippet=raw.get("snippet", ""),
            score=float(raw.get("score") or 0.0),
            cited=bool(raw.get("cited", True)),
        )


@dataclass(frozen=True)
class Answer:
    text: str
    citations: list[Citation]
    conversation_id: str | None = None


@dataclass(frozen=True)
class StreamEvent:
    """A piece of a streamed answer (`text`), or its end (`answer`, with the citations)."""

    text: str = ""
    answer: Answer | None = None


@dataclass(frozen=True)
class Key:
    id: str
    name: str
    role: str
    key: str | None = None  # the secret, only in the answer that created it
    user_id: str | None = None

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Key:
        return cls(raw["id"], raw.get("name", ""), raw.get("role", ""), raw.get("key"), raw.get("user_id"))
