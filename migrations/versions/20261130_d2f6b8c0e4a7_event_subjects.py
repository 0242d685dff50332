"""What each recorded Stripe event is about, for the admin's subscriber history

Revision ID: d2f6b8c0e4a7
Revises: c5e8a1b3d7f9
Create Date: 2026-11-30 06:13:00

Two nullable, indexed columns on webhook_events: `object_id` (data.object.id) and
`stripe_subscription_id` (the subscription the event concerns). Events already recorded are
filled in from their stored payloads, BATCH_SIZE rows at a time in id order, so a shop with a
long history is never read into memory at once. The rule is copied here on purpose (it is
`shop.billing.webhooks.event_subjects` today): a migration must do tomorrow what it does today.
"""

import sqlalchemy as sa
from alembic import op

revision = "d2f6b8c0e4a7"
down_revision = "c5e8a1b3d7f9"
branch_labels = None
depends_on = None

BATCH_SIZE = 500


def upgrade():
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("object_id", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("stripe_subscription_id", sa.String(length=255), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_webhook_events_object_id"), ["object_id"])
        batch_op.create_index(
            batch_op.f("ix_webhook_events_stripe_subscription_id"), ["stripe_subscription_id"]
        )
    _backfill()


def downgrade():
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_events_stripe_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_webhook_events_object_id"))
        batch_op.drop_column("stripe_subscription_id")
        batch_op.drop_column("object_id")


def _backfill():
    events = sa.table(
        "webhook_events",
        sa.column("id", sa.Integer()),
        sa.column("type", sa.String()),
        sa.column("payload", sa.JSON()),
        sa.column("object_id", sa.String()),
        sa.column("stripe_subscription_id", sa.String()),
    )
    connection = op.get_bind()
    after_id = 0
    while True:
        rows = connection.execute(
            sa.select(events.c.id, events.c.type, events.c.payload)
            .where(events.c.id > after_id)
            .order_by(events.c.id)
            .limit(BATCH_SIZE)
        ).all()
        if not rows:
            return
        changes = []
        for row in rows:
            object_id, subscription_id = _subjects(row.type, row.payload)
            if object_id or subscription_id:
                changes.append(
                    {"row_id": row.id, "object_id": object_id, "subscription_id": subscription_id}
                )
        if changes:
            connection.execute(
                events.update()
                .where(events.c.id == sa.bindparam("row_id"))
                .values(
                    object_id=sa.bindparam("object_id"),
                    stripe_subscription_id=sa.bindparam("subscription_id"),
                ),
                changes,
            )
        after_id = rows[-1].id


def _subjects(event_type, event):
    data = event.get("data") if isinstance(event, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return None, None
    object_id = _stripe_id(obj.get("id"))
    kind = obj.get("object")
    event_type = event_type if isinstance(event_type, str) else ""
    if kind == "subscription" or event_type.startswith("customer.subscription."):
        return object_id, object_id
    if kind == "invoice" or event_type.startswith("invoice."):
        parent = obj.get("parent")
        details = parent.get("subscription_details") if isinstance(parent, dict) else None
        subscription = details.get("subscription") if isinstance(details, dict) else None
        return object_id, _stripe_id(subscription) or _stripe_id(obj.get("subscription"))
    if kind == "checkout.session" or event_type.startswith("checkout.session."):
        return object_id, _stripe_id(obj.get("subscription"))
    return object_id, None


def _stripe_id(value):
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, str) and 0 < len(value) <= 255:
        return value
    return None
