"""The article editor (filled in by the articles work of issue 9)

Revision ID: b7d2f4a6c8e1
Revises: a9c3e5f70b12
Create Date: 2026-11-30 06:11:00
"""

revision = "b7d2f4a6c8e1"
down_revision = "a9c3e5f70b12"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
