"""Documents: upload, de-duplication, listing, download and deletion, all scoped to the caller."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from enclave.audit.actor import Actor, audited
from enclave.audit.events import DOCUMENT_ACL, DOCUMENT_DELETE, DOCUMENT_DOWNLOAD, DOCUMENT_UPLOAD
from enclave.catalog.db import Catalog
from enclave.catalog.tables import Document
from enclave.documents.archives import ArchiveLimits
from enclave.documents.formats import RECORD_MEDIA_TYPE, sniff
from enclave.documents.lifecycle import Status
from enclave.documents.queue import TaskQueue
from enclave.documents.storage import FileStorage, Staged
from enclave.errors import Conflict, Forbidden, Invalid, NotFound
from enclave.index.base import VectorIndex
from enclave.tenancy.access import (
    Acl,
    acl_of,
    acl_tokens,
    can_change,
    can_see,
    documents_of_tenant,
    documents_visible_to,
    write_acl,
)
from enclave.tenancy.principal import Principal


@dataclass
class Record:
    title: str
    text: str
    external_id: str | None = None
    collection: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    acl: Acl | None = None  # None: tenant-wide


@dataclass
class UploadResult:
    document: Document
    duplicate: bool


def _require_writer(principal: Principal) -> None:
    if not principal.can_write:
        raise Forbidden("Your key has the reader role, which can search and ask but not upload or delete.")


def _require_owner(principal: Principal, doc: Document) -> None:
    if not can_change(principal, doc):
        raise Forbidden("Only the document's owner or a tenant admin can change or delete it.")


def _clean_collection(collection: str | None) -> str:
    c = (collection or "default").strip() or "default"
    if len(c) > 100 or not all(ch.isalnum() or ch in "-_." for ch in c):
        raise Invalid("A collection name is 1-100 letters, digits, '-', '_' or '.'.")
    return c


def _clean_filename(name: str | None) -> str:
    # Kept for display only: strip any path a client sent and control characters.
    base = (name or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:300] or "upload"


def _title_of(filename: str) -> str:
    """A readable title from a file name ('2023 Q3 AAPL.pdf' → '2023 Q3 AAPL'), used as chunk context."""
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return " ".join(stem.replace("_", " ").replace("-", " ").split())[:300]


def _new_document(
    principal: Principal,
    collection: str,
    filename: str,
    media_type: str,
    size: int,
    sha256: str,
    storage_key: str,
    metadata: dict[str, Any],
    **extra: Any,
) -> Document:
    """A new catalog row owned by the caller's tenant (the only place one is built); its status starts as
    the column default, queued."""
    return Document(
        tenant_id=principal.tenant_id,
        collection=collection,
        filename=filename,
        media_type=media_type,
        size=size,
        sha256=sha256,
        metadata_=metadata,
        storage_key=storage_key,
        created_by=principal.key_id,
        owner=principal.owner_id,
        **extra,
    )


def _upload_details(res: UploadResult) -> dict[str, Any]:
    """What an upload's audit record keeps of the document: never its content."""
    d = res.document
    return {"collection": d.collection, "filename": d.filename, "size": d.size, "duplicate": res.duplicate}


class DocumentService:
    def __init__(
        self,
        catalog: Catalog,
        storage: FileStorage,
        index: Callable[[], VectorIndex],
        queue: TaskQueue,
        max_upload_mb: int,
        archive_limits: ArchiveLimits | None = None,
    ) -> None:
        self.catalog = catalog
        self.storage = storage
        self._index = index
        self.queue = queue
        self.max_bytes = max_upload_mb * 1024 * 1024
        self.archive_limits = archive_limits or ArchiveLimits()

    # --- writes ----------------------------------------------------------------------------------
    def upload(
        self,
        principal: Principal,
        filename: str | None,
        chunks: Iterable[bytes],
        collection: str | None = None,
        metadata: dict[str, Any] | None = None,
        actor: Actor | None = None,
        acl: Acl | None = None,
    ) -> UploadResult:
        filename = _clean_filename(filename)
        with audited(actor, DOCUMENT_UPLOAD, filename=filename) as step:
            _require_writer(principal)
            collection = _clean_collection(collection)
            staged = self.storage.stage(chunks, self.max_bytes)
            try:
                fmt = sniff(staged.path, filename, self.archive_limits)
            except BaseException:
                self.storage.discard(staged)
                raise
            res = self._register(
                principal,
                staged,
                fmt.media_type,
                fmt.suffix,
                filename,
                collection,
                metadata or {},
                acl,
                title=_title_of(filename),
            )
            step.succeeded(res.document.id, **_upload_details(res))
        return res

    def upload_records(
        self, principal: Principal, records: list[Record], actor: Actor | None = None
    ) -> list[UploadResult]:
        """JSON records in one catalog transaction; a record with a known external id replaces it. One
        audit record per document."""
        with audited(actor, DOCUMENT_UPLOAD, records=len(records)) as step:
            results = self._upload_records(principal, records)
            for res in results:
                step.succeeded(res.document.id, **_upload_details(res))
        return results

    def _upload_records(self, principal: Principal, records: list[Record]) -> list[UploadResult]:
        _require_writer(principal)
        prepared = []
        for r in records:
            if not r.text.strip():
                raise Invalid("A record's text is empty; send the content to index in 'text'.")
            body = json.dumps({"title": r.title, "text": r.text}, ensure_ascii=False).encode()
            prepared.append((r, _clean_collection(r.collection), body, hashlib.sha256(body).hexdigest()))
        results: list[UploadResult] = []
        new_docs: list[Document] = []
        with self.catalog.session() as s:
            shas = [sha for *_, sha in prepared]
            existing = {
                (d.collection, d.sha256): d
                for d in s.scalars(documents_visible_to(principal).where(Document.sha256.in_(shas))).all()
            }
            by_ext = self._replaced(
                s, principal, {(c, r.external_id) for r, c, *_ in prepared if r.external_id}
            )
            for r, collection, body, sha in prepared:
                dup = existing.get((collection, sha))
                if dup is not None:
                    results.append(UploadResult(dup, duplicate=True))
                    continue
                staged = self.storage.stage([body], self.max_bytes)
                key = self.storage.commit(staged, principal.tenant_id, ".json")
                old = by_ext.get((collection, r.external_id)) if r.external_id else None
                doc = _new_document(
                    principal,
                    collection,
                    _clean_filename(r.title or r.external_id or "record"),
                    RECORD_MEDIA_TYPE,
                    staged.size,
                    sha,
                    key,
                    r.metadata,
                    title=r.title or None,
                    external_id=r.external_id,
                    supersedes=old.id if old is not None else None,
                )
                write_acl(s, doc, acl_tokens(principal.owner_id, r.acl))
                existing[(collection, sha)] = doc
                new_docs.append(doc)
                results.append(UploadResult(doc, duplicate=False))
        if new_docs:
            self.queue.enqueue_records([doc.id for doc in new_docs])
        return results

    @staticmethod
    def _replaced(
        s: Any, principal: Principal, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str | None], Document]:
        """The documents these (collection, external id) pairs replace; another owner's (seen or not) is
        refused: members may not touch other people's documents."""
        if not keys:
            return {}
        stmt = documents_of_tenant(principal).where(Document.external_id.in_({e for _, e in keys}))
        found = [d for d in s.scalars(stmt).all() if (d.collection, d.external_id) in keys]
        for d in found:
            if not can_change(principal, d):
                raise Conflict(
                    f"The external_id {d.external_id!r} belongs to another user's document; choose another "
                    "external_id, or ask its owner or a tenant admin to replace it."
                )
        return {(d.collection, d.external_id): d for d in found}

    def _register(
        self,
        principal: Principal,
        staged: Staged,
        media_type: str,
        suffix: str,
        filename: str,
        collection: str,
        metadata: dict[str, Any],
        acl: Acl | None,
        title: str | None = None,
    ) -> UploadResult:
        """A file upload; JSON records are registered in bulk by `upload_records`."""
        existing = self._find_same_content(principal, collection, staged.sha256)
        if existing is not None:
            self.storage.discard(staged)
            return UploadResult(existing, duplicate=True)
        key = self.storage.commit(staged, principal.tenant_id, suffix)
        doc = _new_document(
            principal,
            collection,
            filename,
            media_type,
            staged.size,
            staged.sha256,
            key,
            metadata,
            title=title,
        )
        try:
            with self.catalog.session() as s:
                write_acl(s, doc, acl_tokens(principal.owner_id, acl))
        except IntegrityError:
            # Lost a race with an identical upload: keep the winner.
            self.storage.delete(key)
            existing = self._find_same_content(principal, collection, staged.sha256)
            if existing is None:
                raise
            return UploadResult(existing, duplicate=True)
        self.queue.enqueue(doc.id)
        return UploadResult(doc, duplicate=False)

    def _find_same_content(self, principal: Principal, collection: str, sha: str) -> Document | None:
        with self.catalog.session() as s:
            return s.scalars(
                documents_visible_to(principal).where(
                    Document.collection == collection, Document.sha256 == sha
                )
            ).first()

    def delete(self, principal: Principal, document_id: str, actor: Actor | None = None) -> None:
        with audited(actor, DOCUMENT_DELETE, target=document_id):
            _require_writer(principal)
            doc = self.get(principal, document_id)
            _require_owner(principal, doc)
            self.purge(doc)

    def set_acl(
        self, principal: Principal, document_id: str, acl: Acl | None, actor: Actor | None = None
    ) -> Document:
        """A new ACL, in the catalog and then on the index points, both before this returns. Catalog first:
        an ingestion still writing points re-reads the ACL after its last write (`ingest.indexing.
        settle_access`), so either it sees the new ACL or this call's index update comes after its points."""
        with audited(actor, DOCUMENT_ACL, target=document_id) as step:
            _require_writer(principal)
            doc = self.get(principal, document_id)
            _require_owner(principal, doc)
            tokens = acl_tokens(doc.owner or doc.created_by or principal.owner_id, acl)
            self._write_acl(doc.id, tokens)
            try:
                self._index().set_access(doc.tenant_id, doc.id, {"acl": tokens})
            except BaseException:
                self._write_acl(doc.id, acl_of(doc))  # as it was: the caller sees the failure and retries
                raise
            step.succeeded(doc.id, acl=tokens)
        return self.get(principal, document_id)

    def _write_acl(self, document_id: str, tokens: list[str]) -> None:
        with self.catalog.session() as s:
            row = s.get(Document, document_id)
            if row is None:
                raise NotFound("No document with that id.")
            write_acl(s, row, tokens)

    def purge(self, doc: Document) -> None:
        """Remove from the index first, so the document is unsearchable before the call returns."""
        self._index().delete_document(doc.tenant_id, doc.id)
        with self.catalog.session() as s:
            row = s.get(Document, doc.id)
            if row is not None:
                s.delete(row)
        self.storage.delete(doc.storage_key)

    # --- reads -------------------------------------------------------------------------------------
    def get(self, principal: Principal, document_id: str) -> Document:
        with self.catalog.session() as s:
            doc = s.scalars(documents_visible_to(principal).where(Document.id == document_id)).first()
        # Another tenant's id and an unknown id answer the same, so ids leak nothing.
        if doc is None or not can_see(principal, doc):
            raise NotFound("No document with that id.")
        return doc

    def file_path(
        self, principal: Principal, document_id: str, actor: Actor | None = None
    ) -> tuple[Document, Path]:
        with audited(actor, DOCUMENT_DOWNLOAD, target=document_id):
            doc = self.get(principal, document_id)
            return doc, self.storage.path(doc.storage_key)

    def list(
        self,
        principal: Principal,
        collection: str | None = None,
        status: str | None = None,
        q: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Document], int]:
        if status and status not in set(Status):
            raise Invalid(f"status must be one of {', '.join(Status)}.")
        stmt = documents_visible_to(principal)
        if collection:
            stmt = stmt.where(Document.collection == collection)
        if status:
            stmt = stmt.where(Document.status == status)
        if q:
            stmt = stmt.where(Document.filename.ilike(f"%{q.replace('%', '').replace('_', '')}%"))
        with self.catalog.session() as s:
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = s.scalars(
                stmt.order_by(Document.created_at.desc(), Document.id).limit(limit).offset(offset)
            ).all()
        visible = [d for d in rows if can_see(principal, d)]
        return visible, int(total)

    def collections(self, principal: Principal) -> list[str]:
        with self.catalog.session() as s:
            rows = s.execute(
                documents_visible_to(principal)
                .with_only_columns(Document.collection)
                .distinct()
                .order_by(Document.collection)
            ).all()
        return [r[0] for r in rows]
