"""Audit log: every access is recorded with who, tenant, when, what, the outcome and where from.

Records are written by one writer thread that inserts whatever has accumulated in one transaction, so a
search does not wait on a catalog write (on SQLite a commit costs about as much as the rest of the
gateway's work for a request); the writer also links them onto their tenant's hash chain
(enclave/audit/chain.py). Reads flush first, so a caller always sees its own records, and closing the
runtime drains the queue. A failed write is retried; rows are dropped only after the retries, and that is
logged as an error with the number of rows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from enclave.audit import chain
from enclave.audit.actor import Actor
from enclave.audit.events import AUDIT_EXPORT, AUDIT_READ, NO_TENANT, Outcome, request_source
from enclave.audit.query import AuditFilter, read_export, read_page
from enclave.catalog.db import Catalog
from enclave.catalog.tables import AuditEvent, utcnow
from enclave.errors import Forbidden
from enclave.tenancy.principal import Principal

log = logging.getLogger(__name__)
BATCH = 500
RETRIES = 5


def _clip(value: str | None, size: int) -> str | None:
    """Within its column, so one odd value cannot make a whole batch fail to write."""
    return None if value is None else str(value)[:size]


class AuditLog:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._pending: deque[dict[str, Any]] = deque()
        self._cond = threading.Condition()
        self._in_flight = 0  # rows taken by the writer and not yet committed (or dropped)
        self._closed = False
        self._thread: threading.Thread | None = None

    def record(
        self,
        who: Principal | Actor | None,
        action: str,
        query: str | None = None,
        document_ids: list[str] | None = None,
        *,
        target: str | None = None,
        outcome: Outcome = Outcome.OK,
        tenant_id: str | None = None,
        key_id: str | None = None,
        **details: Any,
    ) -> None:
        """Queues one record; it costs the caller no catalog round trip. `who` is the caller (None: not
        authenticated); `tenant_id` and `key_id` name them where `who` cannot."""
        principal = who.principal if isinstance(who, Actor) else who
        row = {
            "tenant_id": tenant_id or (principal.tenant_id if principal else NO_TENANT),
            "key_id": _clip(key_id or (principal.key_id if principal else None), 32),
            "user_id": _clip(who.user_id if isinstance(who, Actor) else None, 32),
            "action": action,
            "target": _clip(target, 200),
            "outcome": str(outcome),
            "source": _clip(who.source if isinstance(who, Actor) else request_source.get(), 64),
            "at": utcnow(),
            "query": query,
            "document_ids": list(dict.fromkeys(document_ids or [])),
            "details": details,
        }
        with self._cond:
            if self._closed:  # after shutdown: write through rather than lose the record
                self._write([row])
                return
            self._pending.append(row)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout_s: float = 30.0) -> None:
        """Returns once every record made before the call is committed."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while (self._pending or self._in_flight) and self._thread is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the audit log could not be written in time")
                self._cond.wait(left)

    def close(self) -> None:
        self.flush()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(5)

    # --- reads (each flushes first, so a caller sees its own records) ----------------------------
    def events(self, principal: Principal, limit: int = 100, action: str | None = None) -> list[AuditEvent]:
        self.flush()
        stmt = select(AuditEvent).where(AuditEvent.tenant_id == principal.tenant_id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        with self.catalog.session() as s:
            return list(s.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit)).all())

    def page(
        self, actor: Actor, filt: AuditFilter, limit: int, offset: int = 0, before: int | None = None
    ) -> tuple[list[AuditEvent], int]:
        """The caller's tenant's records matching `filt`, newest first, and how many match in all;
        `before` (a `seq`) continues after the last record of the previous page."""
        principal = self._admin(actor, AUDIT_READ)
        self.flush()
        rows, total = read_page(self.catalog, principal.tenant_id, filt, limit, offset, before)
        actor.record(AUDIT_READ, filter=filt.described(), returned=len(rows))
        return rows, total

    def export(self, actor: Actor, filt: AuditFilter) -> Iterator[dict[str, Any]]:
        """Every record matching `filt`, oldest first (chain order), as plain dicts; read in batches."""
        principal = self._admin(actor, AUDIT_EXPORT)
        self.flush()
        actor.record(AUDIT_EXPORT, filter=filt.described())
        return read_export(self.catalog, principal.tenant_id, filt)

    @staticmethod
    def _admin(actor: Actor, action: str) -> Principal:
        if actor.principal is None or not actor.principal.is_admin:
            reason = "Only a tenant admin key can read the audit log; ask your tenant admin."
            actor.record(action, outcome=Outcome.DENIED, reason=reason)
            raise Forbidden(reason)
        return actor.principal

    # --- writer --------------------------------------------------------------------------------
    def _write(self, rows: list[dict[str, Any]]) -> None:
        with self.catalog.engine.begin() as conn:
            chain.append(conn, rows)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:  # closed and drained
                    return
                rows = [self._pending.popleft() for _ in range(min(BATCH, len(self._pending)))]
                self._in_flight = len(rows)
            for attempt in range(1, RETRIES + 1):
                try:
                    self._write(rows)
                    break
                except Exception:
                    if attempt == RETRIES:
                        log.exception(
                            "audit log: dropped %d records after %d failed writes", len(rows), attempt
                        )
                    else:
                        log.warning("audit log: write of %d records failed (attempt %d)", len(rows), attempt)
                        time.sleep(0.2 * attempt)
            with self._cond:
                self._in_flight = 0
                self._cond.notify_all()
