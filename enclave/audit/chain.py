"""The hash chain of the audit log: each tenant's rows are numbered 1, 2, 3 … (`seq`), and each row's
`hash` is the SHA-256 of a canonical serialisation of its own fields and the previous row's hash.

Appending takes the tenant's chain head (`audit_chains`) with a row lock and holds it to the end of the
writer's transaction, so two gateway processes writing for one tenant chain their rows one after the
other. On PostgreSQL that is `INSERT … ON CONFLICT DO NOTHING` (the head of a new tenant) followed by
`SELECT … FOR UPDATE`; on SQLite the insert takes the database's write lock, which serialises the rest.
Heads are locked in tenant order, so two batches for the same tenants cannot deadlock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from enclave.catalog.tables import AuditChain, AuditEvent, utcnow

# The previous hash of a tenant's first row.
GENESIS = "0" * 64
# What the hash covers besides the previous hash. `id` is not in it: it is the database's, and chain
# order is `seq`.
CHAINED = (
    "tenant_id",
    "seq",
    "key_id",
    "user_id",
    "action",
    "target",
    "outcome",
    "source",
    "at",
    "query",
    "document_ids",
    "details",
)


def _instant(value: datetime) -> str:
    """UTC to the microsecond, the same whether the value was just made or read back (SQLite returns
    naive UTC, PostgreSQL an aware time in the session's zone)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def canonical(row: Mapping[str, Any]) -> bytes:
    fields = {name: row.get(name) for name in CHAINED}
    fields["at"] = _instant(fields["at"])
    fields["prev_hash"] = row.get("prev_hash")
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def digest(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


def as_stored(value: Any) -> Any:
    """A JSON value as it reads back from the catalog (tuples become lists, keys strings), so that the
    hash taken before the insert is the hash of what verification reads."""
    return json.loads(json.dumps(value, default=str))


def _lock_head(conn: Connection, tenant_id: str) -> tuple[int, str]:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(AuditChain)
        .values(tenant_id=tenant_id, last_seq=0, last_hash=GENESIS, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    head = conn.execute(
        select(AuditChain.last_seq, AuditChain.last_hash)
        .where(AuditChain.tenant_id == tenant_id)
        .with_for_update()
    ).one()
    return int(head[0]), str(head[1])


def append(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Links `rows` onto their tenants' chains (in the order given) and inserts them, in the caller's
    transaction. Fills in each row's `seq`, `prev_hash` and `hash`."""
    by_tenant: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_tenant.setdefault(row["tenant_id"], []).append(row)
    for tenant_id in sorted(by_tenant):
        seq, prev = _lock_head(conn, tenant_id)
        chained = by_tenant[tenant_id]
        for row in chained:
            seq += 1
            row["document_ids"] = as_stored(row.get("document_ids") or [])
            row["details"] = as_stored(row.get("details") or {})
            row.update(seq=seq, prev_hash=prev)
            row["hash"] = prev = digest(row)
        conn.execute(insert(AuditEvent), chained)
        conn.execute(
            update(AuditChain)
            .where(AuditChain.tenant_id == tenant_id)
            .values(last_seq=seq, last_hash=prev, updated_at=utcnow())
        )
