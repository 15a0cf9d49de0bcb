"""OIDC identities: users who sign in with the organisation's identity provider

A user made from a token carries its issuer and subject (unique per tenant) and the group names of the
last token synced. Users made by an admin have none of these.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issuer", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("subject", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("sso_groups", sa.JSON(), nullable=True))
        batch_op.create_index("ix_users_identity", ["tenant_id", "issuer", "subject"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_identity")
        batch_op.drop_column("sso_groups")
        batch_op.drop_column("subject")
        batch_op.drop_column("issuer")
