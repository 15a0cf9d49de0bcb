"""The one place where a caller's identity becomes a scope. See docs/ACCESS.md.

Every catalog query on documents starts from `documents_visible_to`, and every vector query carries the
filter from `vector_filter`. Both read only the authenticated Principal, never request data.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select

from enclave.catalog.tables import Document
from enclave.tenancy.principal import TENANT_TOKEN, Principal


@dataclass(frozen=True)
class AccessFilter:
    """Backend-neutral vector filter: tenant_id == tenant AND acl ∋ any token [AND collection ==]."""

    tenant_id: str
    tokens: tuple[str, ...]
    collection: str | None = None


def vector_filter(principal: Principal, collection: str | None = None) -> AccessFilter:
    return AccessFilter(tenant_id=principal.tenant_id, tokens=tuple(principal.tokens), collection=collection)


def documents_visible_to(principal: Principal) -> Select[tuple[Document]]:
    """Catalog scope: the caller's tenant only. ACL narrowing is checked by `can_see` on each row."""
    return select(Document).where(Document.tenant_id == principal.tenant_id)


def can_see(principal: Principal, doc: Document) -> bool:
    if doc.tenant_id != principal.tenant_id:
        return False
    return principal.is_admin or bool(set(acl_of(doc)) & set(principal.tokens))


def acl_of(doc: Document) -> list[str]:
    """The principal tokens that may see a document."""
    return list(doc.acl or [TENANT_TOKEN])


def point_payload(doc: Document) -> dict[str, object]:
    """The access fields written on every index point of a document (chunks and its document point):
    what `vector_filter` matches against, plus the ids needed to delete and cite it."""
    return {
        "tenant_id": doc.tenant_id,
        "acl": acl_of(doc),
        "document_id": doc.id,
        "collection": doc.collection,
        "filename": doc.filename,
        "external_id": doc.external_id,
    }
