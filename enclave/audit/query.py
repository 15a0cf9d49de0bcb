"""Reading the audit log: one filter for the paged list and the export, always inside one tenant."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, String, cast, func, or_, select

from enclave.audit.events import Outcome
from enclave.catalog.db import Catalog
from enclave.catalog.tables import AuditEvent
from enclave.errors import Invalid

EXPORT_BATCH = 1000
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _utc(value: datetime | None) -> datetime | None:
    """A naive time is UTC; both backends then compare UTC to UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None  # `from`, inclusive
    until: datetime | None = None  # `to`, exclusive
    actor: str | None = None  # a key id or a user id
    action: str | None = None
    document_id: str | None = None  # the target, or one of the documents a search returned / answer cited
    outcome: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "since", _utc(self.since))
        object.__setattr__(self, "until", _utc(self.until))
        if self.outcome is not None and self.outcome not in set(Outcome):
            raise Invalid(f"outcome must be one of {', '.join(Outcome)}; got {self.outcome!r}.")
        for name in ("actor", "document_id"):
            value = getattr(self, name)
            if value is not None and not _ID.fullmatch(value):
                raise Invalid(f"{name} must be an id: 1-64 letters, digits, '-' or '_'.")

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        if self.since is not None:
            stmt = stmt.where(AuditEvent.at >= self.since)
        if self.until is not None:
            stmt = stmt.where(AuditEvent.at < self.until)
        if self.actor:
            stmt = stmt.where(or_(AuditEvent.key_id == self.actor, AuditEvent.user_id == self.actor))
        if self.action:
            stmt = stmt.where(AuditEvent.action == self.action)
        if self.outcome:
            stmt = stmt.where(AuditEvent.outcome == self.outcome)
        if self.document_id:
            # document_ids is a JSON list of ids; an id (checked above) is matched with its quotes.
            listed = cast(AuditEvent.document_ids, String).like(f'%"{self.document_id}"%')
            stmt = stmt.where(or_(AuditEvent.target == self.document_id, listed))
        return stmt

    def described(self) -> dict[str, str]:
        """The filter as it is kept in the record of the read itself."""
        return {
            k: v.isoformat() if isinstance(v, datetime) else str(v)
            for k, v in asdict(self).items()
            if v is not None
        }


def as_dict(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "tenant_id": e.tenant_id,
        "seq": e.seq,
        "at": _utc(e.at).isoformat() if e.at else None,  # type: ignore[union-attr]
        "key_id": e.key_id,
        "user_id": e.user_id,
        "action": e.action,
        "target": e.target,
        "outcome": e.outcome,
        "source": e.source,
        "query": e.query,
        "document_ids": e.document_ids,
        "details": e.details,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def _scoped(tenant_id: str, filt: AuditFilter) -> Select[Any]:
    return filt.apply(select(AuditEvent).where(AuditEvent.tenant_id == tenant_id))


def read_page(
    catalog: Catalog, tenant_id: str, filt: AuditFilter, limit: int, offset: int, before: int | None
) -> tuple[list[AuditEvent], int]:
    """Newest first; `total` counts every match of the filter, whatever the page."""
    stmt = _scoped(tenant_id, filt)
    with catalog.session() as s:
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        if before is not None:
            stmt = stmt.where(AuditEvent.seq < before)
        rows = s.scalars(stmt.order_by(AuditEvent.seq.desc()).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def read_export(catalog: Catalog, tenant_id: str, filt: AuditFilter) -> Iterator[dict[str, Any]]:
    """Oldest first, in batches by `seq`, so a long export holds no connection between batches."""
    after = 0
    while True:
        stmt = _scoped(tenant_id, filt).where(AuditEvent.seq > after)
        with catalog.session() as s:
            rows = s.scalars(stmt.order_by(AuditEvent.seq).limit(EXPORT_BATCH)).all()
        for row in rows:
            yield as_dict(row)
        if len(rows) < EXPORT_BATCH:
            return
        after = rows[-1].seq
