"""The document lifecycle: the only code that writes a document's status.

    queued ──claim──▶ processing ──settle──▶ ready | failed
      ▲                  │
      └──── requeue ─────┘   (transient fault, lease expired, restart)
    queued | processing ──give_up──▶ failed

A claim takes a lease; while it runs no other worker takes the document, and a worker that dies stops
renewing it, so the reconciler hands the document on once the lease runs out. Every claim opens an
`ingestion_attempts` row, which the outcome closes. An attempt that ended in a crash, or that was never
closed because its worker was killed, counts against `max_attempts`: past it the document is retired as
failed instead of being claimed again, so one poison file cannot crash-loop the workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from enclave.catalog.db import Catalog
from enclave.catalog.tables import Document, IngestionAttempt, utcnow

MAX_ERROR = 1000
CRASHED = "crashed"  # an attempt the retry policy saw crash
LOST = "lost"  # an attempt whose worker died before closing it


class Status(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


TERMINAL = frozenset({Status.READY, Status.FAILED})


class LeaseHeld(Exception):
    """Another worker is processing the document; try again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"another worker holds the lease for {seconds:.0f}s more")
        self.seconds = seconds


class Retired(Exception):
    """The document crashed its attempts too often: claiming it failed it instead (already written)."""

    def __init__(self, tenant_id: str, reason: str) -> None:
        super().__init__(reason)
        self.tenant_id, self.reason = tenant_id, reason


@dataclass
class GroupClaim:
    """The outcome of claiming several documents at once."""

    claimed: list[Document] = field(default_factory=list)
    # not claimable now, with the seconds to wait (0: a file, which takes the one-document path)
    later: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # finished or deleted


def _lease_left(doc: Document, now: datetime) -> float:
    """Seconds another worker still holds this document for (0 when it is free to take)."""
    if doc.status != Status.PROCESSING or doc.lease_until is None:
        return 0.0
    lease = doc.lease_until if doc.lease_until.tzinfo else doc.lease_until.replace(tzinfo=now.tzinfo)
    return max(0.0, (lease - now).total_seconds())


class Lifecycle:
    def __init__(self, catalog: Catalog, lease_s: float, worker: str, max_attempts: int = 3) -> None:
        self.catalog = catalog
        self.lease_s = lease_s
        self.worker = worker
        self.max_attempts = max(1, max_attempts)
        self._lock_rows = catalog.url.startswith("postgres")

    # --- claim --------------------------------------------------------------------------------------
    def _poisoned(self, s: Session, doc: Document) -> str | None:
        """The reason to retire the document instead of claiming it, if its attempts crashed too often.
        Attempts still open belong to workers that died (a live one would hold the lease)."""
        attempts = s.scalars(
            select(IngestionAttempt)
            .where(IngestionAttempt.document_id == doc.id)
            .order_by(IngestionAttempt.attempt)
        ).all()
        for att in attempts:
            if att.status == Status.PROCESSING:
                att.status, att.finished_at = LOST, utcnow()
                att.error = "the worker stopped before finishing (killed, or out of memory)"
        crashed = [a for a in attempts if a.status in (CRASHED, LOST)]
        if len(crashed) < self.max_attempts:
            return None
        return (
            f"The parser crashed or was killed {len(crashed)} times on this file "
            f"(last: {crashed[-1].error}); it is not tried again. Check that the file opens, split it or "
            "save it in another format, then upload it again."
        )[:MAX_ERROR]

    def _take(self, s: Session, doc: Document, now: datetime) -> None:
        doc.status = Status.PROCESSING
        doc.attempts += 1
        doc.progress = 0.01
        doc.error = None
        doc.lease_until = now + timedelta(seconds=self.lease_s)
        s.add(IngestionAttempt(document_id=doc.id, attempt=doc.attempts, worker=self.worker))

    def claim(self, document_id: str) -> Document | None:
        """Takes the document for processing (None: finished or deleted); raises LeaseHeld, or Retired
        once the document has been failed for crashing too often."""
        now = utcnow()
        with self.catalog.session() as s:
            doc = s.get(Document, document_id, with_for_update=self._lock_rows)
            if doc is None or doc.status in TERMINAL:
                return None
            if held := _lease_left(doc, now):
                raise LeaseHeld(held)
            reason = self._poisoned(s, doc)
            if reason is None:
                self._take(s, doc, now)
                s.flush()
                s.expunge(doc)
                return doc
            doc.status, doc.error, doc.lease_until, doc.progress = Status.FAILED, reason, None, 1.0
            tenant_id = doc.tenant_id
        raise Retired(tenant_id, reason)  # after the commit: the failure is written

    def claim_group(self, document_ids: list[str], media_type: str) -> GroupClaim:
        """Claims, in one transaction, the documents of `media_type` that are free to take."""
        now = utcnow()
        out = GroupClaim()
        with self.catalog.session() as s:
            stmt = select(Document).where(Document.id.in_(document_ids))
            if self._lock_rows:
                stmt = stmt.with_for_update()
            found = {d.id: d for d in s.scalars(stmt).all()}
            for doc_id in document_ids:
                doc = found.get(doc_id)
                if doc is None or doc.status in TERMINAL:
                    out.skipped.append(doc_id)
                elif doc.media_type != media_type:
                    out.later[doc_id] = 0.0
                elif left := _lease_left(doc, now):
                    out.later[doc_id] = left
                else:
                    self._take(s, doc, now)
                    out.claimed.append(doc)
            s.flush()
            for doc in out.claimed:
                s.expunge(doc)
        return out

    # --- while processing ---------------------------------------------------------------------------
    def progress(self, document_id: str, value: float) -> bool:
        """Records progress and renews the lease; False if the document was deleted meanwhile."""
        with self.catalog.session() as s:
            row = s.get(Document, document_id)
            if row is None:
                return False
            row.progress = min(0.99, max(row.progress, value))
            row.lease_until = utcnow() + timedelta(seconds=self.lease_s)
            return True

    def renew(self, document_id: str) -> bool:
        """Extends the lease of a document still processing; False when there is nothing to renew."""
        with self.catalog.session() as s:
            row = s.get(Document, document_id)
            if row is None or row.status != Status.PROCESSING:
                return False
            row.lease_until = utcnow() + timedelta(seconds=self.lease_s)
            return True

    # --- outcomes -------------------------------------------------------------------------------------
    @staticmethod
    def _close(s: Session, row: Document, status: str, error: str | None) -> None:
        att = s.scalars(
            select(IngestionAttempt).where(
                IngestionAttempt.document_id == row.id, IngestionAttempt.attempt == row.attempts
            )
        ).first()
        if att is not None:
            att.status, att.error, att.finished_at = status, error, utcnow()

    def settle(self, document_id: str, status: Status, error: str | None = None, **fields: Any) -> bool:
        """Writes the outcome (ready or failed) and ends the lease; False if the document is gone."""
        return bool(self.settle_many({document_id: (status, error, fields)}))

    def settle_many(self, outcomes: dict[str, tuple[Status, str | None, dict[str, Any]]]) -> set[str]:
        """Several outcomes in one transaction; returns the ids that still existed."""
        assert all(status in TERMINAL for status, _, _ in outcomes.values())
        done: set[str] = set()
        with self.catalog.session() as s:
            rows = s.scalars(select(Document).where(Document.id.in_(list(outcomes)))).all()
            for row in rows:
                status, error, fields = outcomes[row.id]
                error = error[:MAX_ERROR] if error else None
                row.status, row.error, row.lease_until = status, error, None
                row.progress = 1.0
                for k, v in fields.items():
                    setattr(row, k, v)
                self._close(s, row, status, error)
                done.add(row.id)
        return done

    def requeue(self, document_id: str, reason: str, crashed: bool = False) -> None:
        """Back to queued, to be retried; the attempt is closed as `retry` (a dependency was down) or
        `crashed` (which counts towards retiring the document)."""
        with self.catalog.session() as s:
            row = s.get(Document, document_id)
            if row is None or row.status in TERMINAL:
                return
            row.status, row.lease_until = Status.QUEUED, None
            row.error = f"Retrying: {reason}"[:MAX_ERROR]
            self._close(s, row, CRASHED if crashed else "retry", reason[:MAX_ERROR])

    def give_up(self, document_id: str, reason: str) -> str | None:
        """Retries are over: the document fails with `reason`. Returns its tenant id, or None if it had
        finished or gone already."""
        with self.catalog.session() as s:
            row = s.get(Document, document_id)
            if row is None or row.status in TERMINAL:
                return None
            row.status, row.lease_until, row.progress = Status.FAILED, None, 1.0
            row.error = reason[:MAX_ERROR]
            self._close(s, row, Status.FAILED, row.error)
            return row.tenant_id

    # --- sweeps ---------------------------------------------------------------------------------------
    def release_all(self) -> list[str]:
        """After a restart of the one process that ingests (embedded mode) every document it was
        processing is orphaned: all go back to queued. Returns every queued id, oldest first."""
        with self.catalog.session() as s:
            s.execute(
                update(Document)
                .where(Document.status == Status.PROCESSING)
                .values(status=Status.QUEUED, lease_until=None)
            )
        with self.catalog.session() as s:
            return list(
                s.scalars(
                    select(Document.id).where(Document.status == Status.QUEUED).order_by(Document.created_at)
                ).all()
            )

    def stuck(self) -> list[str]:
        """Documents whose lease ran out, or queued for longer than a lease (a lost message); each one's
        clock restarts, so one sweep does not hand it out twice."""
        now = utcnow()
        horizon = now - timedelta(seconds=self.lease_s)
        with self.catalog.session() as s:
            # Operational sweep across tenants: it only re-enqueues ids, it never returns data to a caller.
            rows = s.scalars(
                select(Document).where(
                    or_(
                        and_(Document.status == Status.PROCESSING, Document.lease_until < now),
                        and_(Document.status == Status.QUEUED, Document.updated_at < horizon),
                    )
                )
            ).all()
            for row in rows:
                row.updated_at = now
            return [r.id for r in rows]

    def counts(self) -> dict[str, int]:
        with self.catalog.session() as s:
            rows = s.execute(select(Document.status, func.count()).group_by(Document.status)).all()
        return {status: int(n) for status, n in rows}
