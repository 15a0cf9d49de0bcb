"""The one place where a caller's identity becomes a scope, and the one place that writes a document's
ACL. See docs/ACCESS.md.

Every catalog query on documents starts from `documents_visible_to`, and every vector query carries the
filter from `vector_filter`. Both read only the authenticated Principal, never request data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, delete, exists, select
from sqlalchemy.orm import Session

from enclave.catalog.tables import Document, DocumentAccess
from enclave.errors import Invalid
from enclave.tenancy.principal import TENANT_TOKEN, Principal, group_token, user_token


@dataclass(frozen=True)
class AccessFilter:
    """Backend-neutral vector filter: tenant_id == tenant AND acl ∋ any token [AND collection ==]. With
    `all_documents` (a tenant admin) the acl condition is left out."""

    tenant_id: str
    tokens: tuple[str, ...]
    collection: str | None = None
    all_documents: bool = False


@dataclass(frozen=True)
class Acl:
    """Who may see a document besides its owner and the tenant's admins. None: tenant-wide."""

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


def parse_acl(value: object) -> Acl | None:
    """An ACL from request data: None or absent → tenant-wide; {"users": [...], "groups": [...]}."""
    if value is None:
        return None
    shape = 'An ACL is {"users": [user ids], "groups": [group ids]}; omit it for tenant-wide access.'
    if not isinstance(value, dict) or set(value) - {"users", "groups"}:
        raise Invalid(shape)
    lists = [value.get("users") or [], value.get("groups") or []]
    if not all(
        isinstance(v, list) and all(isinstance(i, str) and 0 < len(i) <= 32 for i in v) for v in lists
    ):
        raise Invalid(shape)
    return Acl(users=tuple(lists[0]), groups=tuple(lists[1]))


def acl_tokens(owner: str, acl: Acl | None) -> list[str]:
    """The stored token list: the owner's token always; `tenant` when tenant-wide. An empty ACL leaves
    only the owner (and admins, who bypass ACLs) — never everyone."""
    tokens = [user_token(owner)]
    if acl is None:
        return [TENANT_TOKEN, *tokens]
    tokens += [user_token(u) for u in acl.users] + [group_token(g) for g in acl.groups]
    return list(dict.fromkeys(tokens))


def write_acl(s: Session, doc: Document, tokens: Iterable[str]) -> None:
    """Sets `documents.acl` and its association rows (`document_access`, what listing filters on) in the
    caller's transaction: the only writer of either, so the two never disagree."""
    doc.acl = list(dict.fromkeys(tokens))
    if doc.id is None:  # a new row: its id is needed for the association rows
        s.add(doc)
        s.flush()
    else:
        s.execute(delete(DocumentAccess).where(DocumentAccess.document_id == doc.id))
    s.add_all(DocumentAccess(document_id=doc.id, token=t) for t in doc.acl)


def vector_filter(principal: Principal, collection: str | None = None) -> AccessFilter:
    return AccessFilter(
        tenant_id=principal.tenant_id,
        tokens=tuple(principal.tokens),
        collection=collection,
        all_documents=principal.is_admin,
    )


def documents_of_tenant(principal: Principal) -> Select[tuple[Document]]:
    """The caller's tenant, ACLs not applied: only for checks that must see every document of the tenant
    (an external id someone else owns) and never return a row the caller may not see."""
    return select(Document).where(Document.tenant_id == principal.tenant_id)


def documents_visible_to(principal: Principal) -> Select[tuple[Document]]:
    """Catalog scope: the caller's tenant, and for a non-admin only documents whose ACL holds one of the
    caller's tokens (in SQL, so LIMIT, OFFSET and counts see only visible rows)."""
    stmt = documents_of_tenant(principal)
    if principal.is_admin:
        return stmt
    shared = exists().where(
        DocumentAccess.document_id == Document.id, DocumentAccess.token.in_(principal.tokens)
    )
    return stmt.where(shared)


def can_see(principal: Principal, doc: Document) -> bool:
    if doc.tenant_id != principal.tenant_id:
        return False
    return principal.is_admin or bool(set(acl_of(doc)) & set(principal.tokens))


def can_change(principal: Principal, doc: Document) -> bool:
    """Changing the ACL, replacing or deleting a document: its owner or a tenant admin."""
    return can_see(principal, doc) and (principal.is_admin or doc.owner == principal.owner_id)


def acl_of(doc: Document) -> list[str]:
    """The principal tokens that may see a document. A stored empty list means nobody but admins; only a
    missing value (a row from before ACLs were written) means tenant-wide."""
    return list(doc.acl) if doc.acl is not None else [TENANT_TOKEN]


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
