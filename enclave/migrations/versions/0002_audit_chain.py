"""audit trail: actor, target, outcome and source on every record; per-tenant hash chain

Rows written before this revision are chained here, per tenant in id order (outcome "ok"), so a change
to any row from now on is detected; what happened to them before the upgrade cannot be.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from enclave.audit.chain import GENESIS, digest

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
BATCH = 5000

# The table as this revision knows it (not the current model, which later revisions may change).
events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()),
    sa.column("tenant_id", sa.String()),
    sa.column("seq", sa.Integer()),
    sa.column("key_id", sa.String()),
    sa.column("user_id", sa.String()),
    sa.column("action", sa.String()),
    sa.column("target", sa.String()),
    sa.column("outcome", sa.String()),
    sa.column("source", sa.String()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("query", sa.Text()),
    sa.column("document_ids", sa.JSON()),
    sa.column("details", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
chains = sa.table(
    "audit_chains",
    sa.column("tenant_id", sa.String()),
    sa.column("last_seq", sa.Integer()),
    sa.column("last_hash", sa.String()),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def _chain_tenant(bind: sa.Connection, tenant: str) -> None:
    seq, prev, after, at = 0, GENESIS, 0, None
    while True:
        rows = bind.execute(
            sa.select(events)
            .where(events.c.tenant_id == tenant, events.c.id > after)
            .order_by(events.c.id)
            .limit(BATCH)
        ).all()
        updates = []
        for r in rows:
            seq += 1
            row = {**r._mapping, "seq": seq, "outcome": "ok", "prev_hash": prev}
            row["document_ids"] = row["document_ids"] or []
            row["details"] = row["details"] or {}
            updates.append({"row_id": r.id, "seq": seq, "prev_hash": prev, "hash": digest(row)})
            prev, after, at = updates[-1]["hash"], r.id, r.at
        if updates:
            bind.execute(
                events.update()
                .where(events.c.id == sa.bindparam("row_id"))
                .values(
                    seq=sa.bindparam("seq"),
                    outcome="ok",
                    prev_hash=sa.bindparam("prev_hash"),
                    hash=sa.bindparam("hash"),
                ),
                updates,
            )
        if len(rows) < BATCH:
            break
    bind.execute(chains.insert().values(tenant_id=tenant, last_seq=seq, last_hash=prev, updated_at=at))


def _chain_existing_rows() -> None:
    bind = op.get_bind()
    for tenant in sorted(r[0] for r in bind.execute(sa.select(events.c.tenant_id).distinct())):
        _chain_tenant(bind, tenant)


def upgrade() -> None:
    op.create_table(
        "audit_chains",
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("user_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("target", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))

    _chain_existing_rows()

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("outcome", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index("ix_audit_events_tenant_seq", ["tenant_id", "seq"], unique=True)
        batch_op.create_index("ix_audit_events_tenant_at", ["tenant_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_tenant_at")
        batch_op.drop_index("ix_audit_events_tenant_seq")
        for name in ("hash", "prev_hash", "source", "outcome", "target", "user_id", "seq"):
            batch_op.drop_column(name)
    op.drop_table("audit_chains")
