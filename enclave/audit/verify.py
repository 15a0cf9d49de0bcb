"""Verification of the audit chains: every row re-hashed and linked to the one before it, in `seq` order,
and the newest row checked against the tenant's chain head. `enclave audit verify` calls `verify`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, union

from enclave.audit.chain import CHAINED, GENESIS, digest
from enclave.catalog.db import Catalog
from enclave.catalog.tables import AuditChain, AuditEvent

BATCH = 2000


@dataclass(frozen=True)
class Break:
    """The first place a tenant's chain is broken."""

    tenant_id: str
    row_id: int | None
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"row id {self.row_id} (seq {self.seq})" if self.row_id is not None else "its chain"
        return f"tenant {self.tenant_id!r}, {where}: {self.problem}"


@dataclass(frozen=True)
class Report:
    tenants: int
    rows: int
    breaks: list[Break]

    @property
    def intact(self) -> bool:
        return not self.breaks


def _rows(conn: Connection, tenant_id: str) -> Iterator[dict[str, Any]]:
    cols = [AuditEvent.id, AuditEvent.prev_hash, AuditEvent.hash, *(getattr(AuditEvent, c) for c in CHAINED)]
    after = 0
    while True:
        batch = conn.execute(
            select(*cols)
            .where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq > after)
            .order_by(AuditEvent.seq)
            .limit(BATCH)
        ).all()
        for row in batch:
            yield dict(row._mapping)
        if len(batch) < BATCH:
            return
        after = batch[-1].seq


def _check_row(row: dict[str, Any], seq: int, prev: str) -> str | None:
    if row["seq"] != seq + 1:
        missing = f"seq {seq + 1}" if row["seq"] == seq + 2 else f"seq {seq + 1} to {row['seq'] - 1}"
        return f"the row(s) before it are missing ({missing} was deleted)"
    if row["prev_hash"] != prev:
        return "it does not follow the row before it (rows were reordered, or one was inserted or replaced)"
    if digest(row) != row["hash"]:
        return "its fields do not match its hash (the row was altered after it was written)"
    return None


def verify_tenant(conn: Connection, tenant_id: str) -> tuple[int, Break | None]:
    """The number of rows read and the first break, if any."""
    head = conn.execute(
        select(AuditChain.last_seq, AuditChain.last_hash).where(AuditChain.tenant_id == tenant_id)
    ).first()
    seq, prev, count, last_id = 0, GENESIS, 0, None
    for row in _rows(conn, tenant_id):
        count += 1
        problem = _check_row(row, seq, prev)
        if problem:
            return count, Break(tenant_id, row["id"], row["seq"], problem)
        seq, prev, last_id = row["seq"], row["hash"], row["id"]
    if head is None:
        headless = Break(tenant_id, last_id, seq, "the tenant has audit rows but no chain head")
        return count, headless if count else None
    if head.last_seq > seq:
        missing = f"seq {seq + 1}" if head.last_seq == seq + 1 else f"seq {seq + 1} to {head.last_seq}"
        which = "the rows after it are" if count else "all its rows are"
        return count, Break(tenant_id, last_id, seq, f"{which} missing ({missing} was deleted)")
    if head.last_seq != seq or head.last_hash != prev:
        problem = f"it is not the newest row the chain head records (seq {head.last_seq}, another hash)"
        return count, Break(tenant_id, last_id, seq, problem)
    return count, None


def verify(catalog: Catalog, tenant_id: str | None = None) -> Report:
    """Checks every tenant's chain (the tenant-less one included), or one tenant's."""
    with catalog.engine.connect() as conn:
        if tenant_id is not None:
            tenants = [tenant_id]
        else:
            names = union(select(AuditEvent.tenant_id).distinct(), select(AuditChain.tenant_id))
            tenants = sorted(r[0] for r in conn.execute(names))
        rows, breaks = 0, []
        for t in tenants:
            n, broken = verify_tenant(conn, t)
            rows += n
            if broken is not None:
                breaks.append(broken)
    return Report(len(tenants), rows, breaks)
