"""Documents API: upload (files or JSON records), list, get, download, delete."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse

from enclave.documents.service import Record
from enclave.errors import Invalid, TooLarge
from enclave.tenancy.access import Acl, parse_acl
from gateway.deps import ActorDep, PrincipalDep, RuntimeDep
from gateway.schemas import AclIn, DocumentBatch, DocumentOut, DocumentPage, RecordIn

router = APIRouter(prefix="/v1/documents", tags=["documents"])


def _chunks(upload: UploadFile, size: int = 1 << 20) -> Iterator[bytes]:
    while block := upload.file.read(size):
        yield block


def _metadata(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise Invalid('\'metadata\' must be a JSON object, e.g. {"department": "legal"}.') from None
    if not isinstance(value, dict):
        raise Invalid('\'metadata\' must be a JSON object, e.g. {"department": "legal"}.')
    return value


def _acl(raw: str | None) -> Acl | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise Invalid('\'acl\' must be JSON, e.g. {"users": [], "groups": ["<group id>"]}.') from None
    return parse_acl(value)


@router.post("", status_code=202)
def upload(
    request: Request,
    principal: PrincipalDep,
    actor: ActorDep,
    rt: RuntimeDep,
    files: Annotated[list[UploadFile], File(description="One or more files")],
    collection: Annotated[str | None, Form()] = None,
    metadata: Annotated[str | None, Form()] = None,
    acl: Annotated[str | None, Form(description='JSON: {"users": [...], "groups": [...]}')] = None,
) -> DocumentBatch:
    limit = rt.settings.max_upload_mb * 1024 * 1024
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit * max(1, len(files)) + 1024 * 1024:
        raise TooLarge(f"The upload is larger than the {rt.settings.max_upload_mb} MB limit per file.")
    meta, access = _metadata(metadata), _acl(acl)
    out = []
    for f in files:
        res = rt.documents.upload(principal, f.filename, _chunks(f), collection, meta, actor, access)
        out.append(DocumentOut.of(res.document, res.duplicate))
    return DocumentBatch(documents=out)


@router.post("/text", status_code=202, response_model=None)
def upload_records(
    body: RecordIn | list[RecordIn], principal: PrincipalDep, actor: ActorDep, rt: RuntimeDep
) -> DocumentOut | DocumentBatch:
    """One record → the document; a list (up to 1000) → {"documents": [...]} in one transaction."""
    records = body if isinstance(body, list) else [body]
    if not 1 <= len(records) <= 1000:
        raise Invalid("Send between 1 and 1000 records per request.")
    results = rt.documents.upload_records(
        principal,
        [Record(r.title, r.text, r.external_id, r.collection, r.metadata, parse_acl(r.acl)) for r in records],
        actor,
    )
    out = [DocumentOut.of(res.document, res.duplicate) for res in results]
    return DocumentBatch(documents=out) if isinstance(body, list) else out[0]


@router.get("")
def list_documents(
    principal: PrincipalDep,
    rt: RuntimeDep,
    collection: str | None = None,
    status: str | None = None,
    q: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DocumentPage:
    docs, total = rt.documents.list(principal, collection, status, q, limit, offset)
    return DocumentPage(documents=[DocumentOut.of(d) for d in docs], total=total, limit=limit, offset=offset)


@router.get("/{document_id}")
def get_document(document_id: str, principal: PrincipalDep, rt: RuntimeDep) -> DocumentOut:
    return DocumentOut.of(rt.documents.get(principal, document_id))


@router.patch("/{document_id}")
def change_document(
    document_id: str, body: AclIn, principal: PrincipalDep, actor: ActorDep, rt: RuntimeDep
) -> DocumentOut:
    """Only the ACL changes: {"acl": {"users": [...], "groups": [...]}}; {"acl": null}: tenant-wide."""
    return DocumentOut.of(rt.documents.set_acl(principal, document_id, parse_acl(body.acl), actor))


@router.get("/{document_id}/file")
def download(document_id: str, principal: PrincipalDep, actor: ActorDep, rt: RuntimeDep) -> FileResponse:
    doc, path = rt.documents.file_path(principal, document_id, actor)
    # Originals are untrusted content: never let a browser run them in our origin.
    active = doc.media_type in ("text/html", "application/xml", "image/svg+xml") or "xml" in doc.media_type
    return FileResponse(
        path,
        media_type=doc.media_type,
        filename=doc.filename,
        content_disposition_type="attachment" if active else "inline",
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )


@router.delete("/{document_id}", status_code=204)
def delete_document(document_id: str, principal: PrincipalDep, actor: ActorDep, rt: RuntimeDep) -> Response:
    rt.documents.delete(principal, document_id, actor)
    return Response(status_code=204)
