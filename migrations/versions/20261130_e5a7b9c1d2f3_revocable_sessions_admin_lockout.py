"""Revocable sessions (a session epoch per customer and admin) and the admin sign-in lockout

Revision ID: e5a7b9c1d2f3
Revises: d3f1a2b4c5e6
Create Date: 2026-11-30 05:00:00

Admin sessions from before the upgrade carry no epoch and end: admins sign in once more.
"""

import sqlalchemy as sa
from alembic import op

revision = "e5a7b9c1d2f3"
down_revision = "d3f1a2b4c5e6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customers") as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("admin_users") as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "admin_sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("lock_count", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_sign_in_failures")),
        sa.UniqueConstraint("email_hash", name=op.f("uq_admin_sign_in_failures_email_hash")),
    )


def downgrade():
    op.drop_table("admin_sign_in_failures")
    with op.batch_alter_table("admin_users") as batch_op:
        batch_op.drop_column("session_epoch")
    with op.batch_alter_table("customers") as batch_op:
        batch_op.drop_column("session_epoch")
