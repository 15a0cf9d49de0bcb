"""Audit log: every search and answer is recorded with who, tenant, when and what came back.

Records are written by one writer thread that inserts whatever has accumulated in one transaction, so a
search does not wait on a catalog write (on SQLite a commit costs about as much as the rest of the
gateway's work for a request). Reads flush first, so a caller always sees its own records, and closing
the runtime drains the queue. A failed write is retried; rows are dropped only after the retries, and
that is logged as an error with the number of rows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from sqlalchemy import insert, select

from enclave.catalog.db import Catalog
from enclave.catalog.tables import AuditEvent, utcnow
from enclave.tenancy.principal import Principal

log = logging.getLogger(__name__)
BATCH = 500
RETRIES = 5


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
        principal: Principal,
        action: str,
        query: str | None = None,
        document_ids: list[str] | None = None,
        **details: Any,
    ) -> None:
        row = {
            "tenant_id": principal.tenant_id,
            "key_id": principal.key_id,
            "action": action,
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

    def events(self, principal: Principal, limit: int = 100, action: str | None = None) -> list[AuditEvent]:
        self.flush()
        stmt = select(AuditEvent).where(AuditEvent.tenant_id == principal.tenant_id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        with self.catalog.session() as s:
            return list(s.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit)).all())

    # --- writer --------------------------------------------------------------------------------
    def _write(self, rows: list[dict[str, Any]]) -> None:
        with self.catalog.engine.begin() as conn:
            conn.execute(insert(AuditEvent), rows)

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
