"""Indexes for the admin pages on a large shop (found by `make bench`'s query plans)

- webhook_events (outcome, next_attempt_at): every admin page counts the failed events and the
  queued ones past due (the admin bar's badges, the sweep); without it each count read all
  240,000 events of the benchmark's dataset (about 50 ms each, twice per page).
- subscriptions (created_at, id): the subscriptions list shows the newest first; with it the
  first page is read from the index instead of sorting every subscription.

Revision ID: e8b1c3d5f7a9
Revises: d2f6b8c0e4a7
Create Date: 2026-11-30 09:30:00
"""

from alembic import op

revision = "e8b1c3d5f7a9"
down_revision = "d2f6b8c0e4a7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_events_outcome_next_attempt_at", ["outcome", "next_attempt_at"]
        )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index("ix_subscriptions_created_at_id", ["created_at", "id"])


def downgrade():
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriptions_created_at_id")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_events_outcome_next_attempt_at")
