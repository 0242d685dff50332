"""Comment settings in the database and privacy erasure (filled in by that work of issue 9)

Revision ID: c5e8a1b3d7f9
Revises: b7d2f4a6c8e1
Create Date: 2026-11-30 06:12:00
"""

revision = "c5e8a1b3d7f9"
down_revision = "b7d2f4a6c8e1"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
