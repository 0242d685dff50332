"""The audit log of admin actions

Revision ID: a9c3e5f70b12
Revises: e5a7b9c1d2f3
Create Date: 2026-11-30 06:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a9c3e5f70b12"
down_revision = "e5a7b9c1d2f3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_email", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_action_created_at", "audit_entries", ["action", "created_at"])
    op.create_index(op.f("ix_audit_entries_created_at"), "audit_entries", ["created_at"])


def downgrade():
    op.drop_index(op.f("ix_audit_entries_created_at"), table_name="audit_entries")
    op.drop_index("ix_audit_entries_action_created_at", table_name="audit_entries")
    op.drop_table("audit_entries")
