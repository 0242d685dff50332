"""Comment settings in the database and privacy erasure (filled in by that work of issue 9)

The comment settings live in one row (id 1), created when an admin first saves them; until then
the environment's COMMENT_* settings apply. Privacy erasure needs no table of its own: it
rewrites the person's rows in place (see shop.privacy.services).

Revision ID: c5e8a1b3d7f9
Revises: b7d2f4a6c8e1
Create Date: 2026-11-30 06:12:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c5e8a1b3d7f9"
down_revision = "b7d2f4a6c8e1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "comment_settings",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("max_links", sa.Integer(), nullable=False),
        sa.Column("moderation_words", sa.JSON(), nullable=False),
        sa.Column("blocklist_words", sa.JSON(), nullable=False),
        sa.Column("blocklist_emails", sa.JSON(), nullable=False),
        sa.Column("blocklist_ips", sa.JSON(), nullable=False),
        sa.Column("auto_approve_returning", sa.Boolean(), nullable=False),
        sa.Column("close_after_days", sa.Integer(), nullable=False),
        sa.Column("comments_per_page", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_comment_settings_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_settings")),
    )


def downgrade():
    op.drop_table("comment_settings")
