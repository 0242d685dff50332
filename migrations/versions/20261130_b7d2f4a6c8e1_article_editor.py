"""The article editor: old slugs of renamed articles, which redirect to the new ones

Revision ID: b7d2f4a6c8e1
Revises: a9c3e5f70b12
Create Date: 2026-11-30 06:11:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b7d2f4a6c8e1"
down_revision = "a9c3e5f70b12"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "article_slug_redirects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=160), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_slug_redirects_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_slug_redirects")),
        sa.UniqueConstraint("slug", name=op.f("uq_article_slug_redirects_slug")),
    )
    op.create_index(
        op.f("ix_article_slug_redirects_article_id"), "article_slug_redirects", ["article_id"]
    )


def downgrade():
    op.drop_index(op.f("ix_article_slug_redirects_article_id"), table_name="article_slug_redirects")
    op.drop_table("article_slug_redirects")
