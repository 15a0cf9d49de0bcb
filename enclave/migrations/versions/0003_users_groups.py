"""users and groups: keys that act as a user, group membership, document owners and ACL rows

`document_access` holds one row per ACL token of a document, in step with `documents.acl`, so listing
filters by ACL in SQL; existing documents are copied into it here.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
BATCH = 5000

documents = sa.table(
    "documents",
    sa.column("id", sa.String()),
    sa.column("acl", sa.JSON()),
)
access = sa.table("document_access", sa.column("document_id", sa.String()), sa.column("token", sa.String()))


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "groups",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_groups_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "group_members",
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "user_id"),
    )
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_members_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_keys_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=32), nullable=True))
        batch_op.drop_constraint("uq_documents_content", type_="unique")
        batch_op.create_unique_constraint(
            "uq_documents_content", ["tenant_id", "collection", "sha256", "owner"]
        )
    # Documents from before users existed belong to the key that uploaded them.
    op.execute("UPDATE documents SET owner = created_by WHERE owner IS NULL")

    op.create_table(
        "document_access",
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("token", sa.String(length=48), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id", "token"),
    )
    with op.batch_alter_table("document_access", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_access_token"), ["token"], unique=False)
    _copy_acls(op.get_bind())


def _copy_acls(bind: sa.Connection) -> None:
    after = ""
    while rows := bind.execute(
        sa.select(documents.c.id, documents.c.acl)
        .where(documents.c.id > after)
        .order_by(documents.c.id)
        .limit(BATCH)
    ).all():
        values = [
            {"document_id": doc_id, "token": token}
            for doc_id, acl in rows
            for token in dict.fromkeys(acl if acl is not None else ["tenant"])
        ]
        if values:
            bind.execute(sa.insert(access), values)
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_table("document_access")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint("uq_documents_content", type_="unique")
        batch_op.create_unique_constraint("uq_documents_content", ["tenant_id", "collection", "sha256"])
        batch_op.drop_column("owner")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_user_id"))
        batch_op.drop_column("user_id")
    op.drop_table("group_members")
    op.drop_table("groups")
    op.drop_table("users")
