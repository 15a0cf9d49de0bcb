"""Audit log API for tenant admins: a filtered, paged list (newest first) and a JSON Lines export (oldest
first, for a SIEM). Members and readers get 403; the reads are themselves audited."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from enclave.audit.query import AuditFilter, as_dict
from gateway.deps import ActorDep, RuntimeDep

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class AuditEventOut(BaseModel):
    id: int
    tenant_id: str
    seq: int
    at: datetime
    key_id: str | None
    user_id: str | None
    action: str
    target: str | None
    outcome: str
    source: str | None
    query: str | None
    document_ids: list[str]
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    total: int  # every record that matches the filter
    limit: int
    offset: int
    next_cursor: int | None  # pass as `cursor` for the next page; None on the last one


def audit_filter(
    from_: Annotated[datetime | None, Query(alias="from", description="ISO 8601, inclusive")] = None,
    to: Annotated[datetime | None, Query(description="ISO 8601, exclusive")] = None,
    actor: Annotated[str | None, Query(description="a key id or user id")] = None,
    action: str | None = None,
    document_id: str | None = None,
    outcome: str | None = None,
) -> AuditFilter:
    return AuditFilter(from_, to, actor, action, document_id, outcome)


FilterDep = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("")
def list_events(
    who: ActorDep,
    rt: RuntimeDep,
    filt: FilterDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    cursor: Annotated[int | None, Query(ge=1, description="next_cursor of the previous page")] = None,
) -> AuditPage:
    rows, total = rt.audit.page(who, filt, limit, offset, cursor)
    events = [AuditEventOut(**as_dict(r)) for r in rows]
    more = events[-1].seq if len(events) == limit and events[-1].seq > 1 else None
    return AuditPage(events=events, total=total, limit=limit, offset=offset, next_cursor=more)


@router.get("/export")
def export(who: ActorDep, rt: RuntimeDep, filt: FilterDep) -> StreamingResponse:
    lines = (json.dumps(e, ensure_ascii=False) + "\n" for e in rt.audit.export(who, filt))
    return StreamingResponse(
        lines,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
    )
