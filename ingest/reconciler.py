"""Re-enqueues documents stuck in queued/processing past their lease (lost messages, dead workers)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import and_, or_, select

from enclave.catalog.tables import Document, utcnow
from enclave.runtime import Runtime

log = logging.getLogger(__name__)


def stuck_documents(rt: Runtime) -> list[str]:
    now = utcnow()
    horizon = now - timedelta(seconds=rt.settings.lease_s)
    with rt.catalog.session() as s:
        # Operational sweep across tenants: it only re-enqueues ids, it never returns data to a caller.
        rows = s.scalars(
            select(Document.id).where(
                or_(
                    and_(Document.status == "processing", Document.lease_until < now),
                    and_(Document.status == "queued", Document.updated_at < horizon),
                )
            )
        ).all()
    return list(rows)


def reconcile_once(rt: Runtime) -> int:
    ids = stuck_documents(rt)
    if rt.queue is None:
        return 0
    for doc_id in ids:
        with rt.catalog.session() as s:
            row = s.get(Document, doc_id)
            if row is not None:
                row.updated_at = utcnow()  # restart the clock so one sweep does not re-enqueue twice
        rt.queue.enqueue(doc_id)
    if ids:
        log.info("reconciler re-enqueued %d stuck documents", len(ids))
    return len(ids)
