"""Pydantic models at the API edge (the OpenAI chat wire format is in gateway/openai_wire.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from enclave.catalog.tables import Conversation, Document, Message
from enclave.search.service import SearchResult
from enclave.tenancy.access import acl_of
from enclave.tenancy.principal import TENANT_TOKEN


class TenantIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class TenantOut(BaseModel):
    id: str
    name: str
    admin_key: str


class KeyIn(BaseModel):
    name: str = Field("", max_length=200)
    role: str = "member"
    user_id: str | None = Field(None, max_length=32)


class KeyCreated(BaseModel):
    id: str
    name: str
    role: str
    key: str


class KeyOut(BaseModel):
    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None
    user_id: str | None = None


class KeyList(BaseModel):
    keys: list[KeyOut]


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320)
    role: str = "member"


class UserOut(BaseModel):
    id: str
    name: str
    email: str | None
    role: str
    created_at: datetime
    groups: list[str]


class UserList(BaseModel):
    users: list[UserOut]


class GroupIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class GroupOut(BaseModel):
    id: str
    name: str
    members: list[str]


class GroupList(BaseModel):
    groups: list[GroupOut]


class MemberIn(BaseModel):
    user_id: str = Field(min_length=1, max_length=32)


class Me(BaseModel):
    tenant_id: str
    tenant_name: str
    key_id: str
    key_name: str
    role: str
    user_id: str | None = None  # the user the key acts as
    groups: list[str] = Field(default_factory=list)


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    filename: str
    collection: str
    media_type: str
    size: int
    sha256: str
    status: str
    progress: float
    error: str | None
    pages: int | None
    chunks: int | None
    external_id: str | None
    title: str | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    owner: str | None = None
    acl: dict[str, list[str]] | None = None  # None: tenant-wide
    duplicate: bool = False

    @classmethod
    def of(cls, doc: Document, duplicate: bool = False) -> DocumentOut:
        return cls(
            id=doc.id,
            filename=doc.filename,
            collection=doc.collection,
            media_type=doc.media_type,
            size=doc.size,
            sha256=doc.sha256,
            status=doc.status,
            progress=round(doc.progress, 3),
            error=doc.error,
            pages=doc.pages,
            chunks=doc.chunks,
            external_id=doc.external_id,
            title=doc.title,
            metadata=doc.metadata_ or {},
            created_at=doc.created_at,
            updated_at=doc.updated_at,
            owner=doc.owner,
            acl=acl_view(acl_of(doc)),
            duplicate=duplicate,
        )


def acl_view(tokens: list[str]) -> dict[str, list[str]] | None:
    """The stored tokens as the API shows them (the owner is among the users)."""
    if TENANT_TOKEN in tokens:
        return None
    return {
        "users": [t.removeprefix("user:") for t in tokens if t.startswith("user:")],
        "groups": [t.removeprefix("group:") for t in tokens if t.startswith("group:")],
    }


class AclIn(BaseModel):
    acl: dict[str, Any] | None = Field(description='{"users": [...], "groups": [...]}; null: tenant-wide')


class DocumentBatch(BaseModel):
    documents: list[DocumentOut]


class DocumentPage(BaseModel):
    documents: list[DocumentOut]
    total: int
    limit: int
    offset: int


class RecordIn(BaseModel):
    title: str = Field("", max_length=1000)
    text: str
    external_id: str | None = Field(None, max_length=500)
    metadata: dict[str, Any] = Field(default_factory=dict)
    collection: str | None = None
    acl: dict[str, Any] | None = None  # {"users": [...], "groups": [...]}; absent: tenant-wide


class SearchIn(BaseModel):
    query: str = Field(min_length=1, max_length=4000)
    collection: str | None = None
    top_k: int = Field(10, ge=1, le=200)
    # The fusion for this query (default: ENCLAVE_SEARCH_FUSION); the evaluation compares them on one index.
    fusion: Literal["adaptive", "rrf", "dense", "sparse"] | None = None


class SearchOut(BaseModel):
    results: list[SearchResult]  # the core's record, serialised field by field


class RenameIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)


def conversation_dict(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.id,
        "title": c.title,
        "created_at": c.created_at.isoformat(),
        "updated_at": c.updated_at.isoformat(),
    }


def message_dict(m: Message) -> dict[str, Any]:
    return {
        "role": m.role,
        "content": m.content,
        "citations": m.citations,
        "created_at": m.created_at.isoformat(),
    }
