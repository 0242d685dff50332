"""What each recorded Stripe event is about, for the admin's subscriber history (filled in by
that work of issue 9)

Revision ID: d2f6b8c0e4a7
Revises: c5e8a1b3d7f9
Create Date: 2026-11-30 06:13:00
"""

revision = "d2f6b8c0e4a7"
down_revision = "c5e8a1b3d7f9"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
