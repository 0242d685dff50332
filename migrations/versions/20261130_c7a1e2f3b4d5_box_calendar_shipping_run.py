"""The box calendar and the monthly shipping run: calendar boxes, shipments per box, skips,
per-subscription Stripe customers and addresses

Revision ID: c7a1e2f3b4d5
Revises: b6f84050a816
Create Date: 2026-11-30 03:00:00

Existing shipments (one per paid invoice) each become the first box of their invoice, in the
month they were created; `flask --app shop reconcile` then grants the rest of each prepaid term.
"""
import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "c7a1e2f3b4d5"
down_revision = "b6f84050a816"
branch_labels = None
depends_on = None

SHIP_TO = ("name", "line1", "line2", "city", "state", "postal_code", "country")
SHIP_TO_LENGTHS = {"city": 120, "state": 120, "postal_code": 20, "country": 2}


def _ship_to_columns():
    return [
        sa.Column(f"ship_to_{name}", sa.String(length=SHIP_TO_LENGTHS.get(name, 255)),
                  nullable=False, server_default="")
        for name in SHIP_TO
    ]


def upgrade():
    op.create_table(
        "calendar_boxes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("box_id", sa.Integer(), nullable=False),
        sa.Column("ship_month", sa.String(length=7), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum("scheduled", "held", "cancelled", name="boxstatus",
                                    native_enum=False, create_constraint=False, length=9),
                  nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sequence >= 1 AND sequence <= term_months",
                           name=op.f("ck_calendar_boxes_sequence_in_term")),
        sa.ForeignKeyConstraint(["box_id"], ["boxes.id"], name=op.f("fk_calendar_boxes_box_id_boxes"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_calendar_boxes_customer_id_customers"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_calendar_boxes_invoice_id_invoices"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_calendar_boxes_plan_id_plans"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"], name=op.f("fk_calendar_boxes_subscription_id_subscriptions"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_boxes")),
        sa.UniqueConstraint("invoice_id", "sequence", name=op.f("uq_calendar_boxes_invoice_id")),
        sa.UniqueConstraint("subscription_id", "ship_month", name=op.f("uq_calendar_boxes_subscription_id")),
    )
    with op.batch_alter_table("calendar_boxes") as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_boxes_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_calendar_boxes_ship_month_status", ["ship_month", "status"], unique=False)

    with op.batch_alter_table("subscriptions") as batch_op:
        batch_op.add_column(sa.Column("stripe_customer_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("pause_behavior", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("pause_resumes_at", sa.DateTime(timezone=True), nullable=True))
        for column in _ship_to_columns():
            batch_op.add_column(column)
        batch_op.create_index(batch_op.f("ix_subscriptions_stripe_customer_id"), ["stripe_customer_id"], unique=False)

    with op.batch_alter_table("invoices") as batch_op:
        batch_op.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_invoices_plan_id_plans"), "plans", ["plan_id"], ["id"], ondelete="RESTRICT")

    with op.batch_alter_table("shipments") as batch_op:
        batch_op.add_column(sa.Column("calendar_box_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ship_month", sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column("carrier", sa.String(length=60), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("tracking_number", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("packed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("shipped_email_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("address_changed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint("uq_shipments_invoice_id", type_="unique")

    _backfill()

    with op.batch_alter_table("shipments") as batch_op:
        batch_op.alter_column("calendar_box_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("ship_month", existing_type=sa.String(length=7), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_shipments_calendar_box_id"), ["calendar_box_id"])
        batch_op.create_foreign_key(batch_op.f("fk_shipments_calendar_box_id_calendar_boxes"), "calendar_boxes", ["calendar_box_id"], ["id"], ondelete="RESTRICT")
        batch_op.create_index(batch_op.f("ix_shipments_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index("ix_shipments_ship_month_status", ["ship_month", "status"], unique=False)
        # A shipment's month is its calendar box's; the paying invoice keeps the period.
        batch_op.drop_column("period_end")
        batch_op.drop_column("period_start")


def _add_months(month, count):
    index = int(month[:4]) * 12 + int(month[5:]) - 1 + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _backfill():
    """Subscriptions take their account's Stripe customer and address; each old shipment
    becomes box 1 of its invoice in the month it was created."""
    bind = op.get_bind()
    tz = ZoneInfo(os.environ.get("SHOP_TIMEZONE") or "Australia/Sydney")
    customers = {
        row.id: row
        for row in bind.execute(sa.text(
            "SELECT id, stripe_customer_id, shipping_name, shipping_line1, shipping_line2, "
            "shipping_city, shipping_state, shipping_postal_code, shipping_country FROM customers"
        ))
    }
    for sub in bind.execute(sa.text("SELECT id, customer_id FROM subscriptions")).all():
        customer = customers[sub.customer_id]
        values = {f"ship_to_{name}": getattr(customer, f"shipping_{name}") or "" for name in SHIP_TO}
        bind.execute(
            sa.text(
                "UPDATE subscriptions SET stripe_customer_id = :stripe_id, "
                + ", ".join(f"ship_to_{name} = :ship_to_{name}" for name in SHIP_TO)
                + " WHERE id = :id"
            ),
            {"stripe_id": customer.stripe_customer_id, "id": sub.id, **values},
        )
    terms = dict(bind.execute(sa.text("SELECT id, term_months FROM plans")).all())
    taken = set()
    now = datetime.now(UTC)
    shipments = bind.execute(sa.text(
        "SELECT id, subscription_id, customer_id, invoice_id, plan_id, box_id, created_at "
        "FROM shipments ORDER BY created_at, id"
    )).all()
    for row in shipments:
        created = row.created_at
        if isinstance(created, str):
            created = datetime.fromisoformat(created)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        month = created.astimezone(tz).strftime("%Y-%m")
        while (row.subscription_id, month) in taken:
            month = _add_months(month, 1)
        taken.add((row.subscription_id, month))
        box_id = bind.execute(
            sa.text(
                "INSERT INTO calendar_boxes (subscription_id, customer_id, invoice_id, plan_id, "
                "box_id, ship_month, sequence, term_months, status, created_at, updated_at) "
                "VALUES (:subscription_id, :customer_id, :invoice_id, :plan_id, :box_id, :month, "
                "1, :term, 'scheduled', :now, :now) RETURNING id"
            ),
            {**row._asdict(), "month": month, "term": terms[row.plan_id], "now": now},
        ).scalar_one()
        bind.execute(
            sa.text("UPDATE shipments SET calendar_box_id = :box, ship_month = :month WHERE id = :id"),
            {"box": box_id, "month": month, "id": row.id},
        )


def downgrade():
    with op.batch_alter_table("shipments") as batch_op:
        batch_op.add_column(sa.Column("period_start", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("period_end", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index("ix_shipments_ship_month_status")
        batch_op.drop_index(batch_op.f("ix_shipments_invoice_id"))
        batch_op.drop_constraint(batch_op.f("fk_shipments_calendar_box_id_calendar_boxes"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_shipments_calendar_box_id"), type_="unique")
        for name in ("address_changed_at", "shipped_email_sent_at", "shipped_at", "packed_at",
                     "tracking_number", "carrier", "ship_month", "calendar_box_id"):
            batch_op.drop_column(name)
    # Only one shipment per invoice fits the old schema: keep each invoice's first.
    op.execute(
        "DELETE FROM shipments WHERE id NOT IN (SELECT MIN(id) FROM shipments GROUP BY invoice_id)"
    )
    with op.batch_alter_table("shipments") as batch_op:
        batch_op.create_unique_constraint("uq_shipments_invoice_id", ["invoice_id"])
    with op.batch_alter_table("invoices") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_invoices_plan_id_plans"), type_="foreignkey")
        batch_op.drop_column("plan_id")
    with op.batch_alter_table("subscriptions") as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptions_stripe_customer_id"))
        for name in SHIP_TO:
            batch_op.drop_column(f"ship_to_{name}")
        for name in ("pause_resumes_at", "pause_behavior", "stripe_customer_id"):
            batch_op.drop_column(name)
    with op.batch_alter_table("calendar_boxes") as batch_op:
        batch_op.drop_index("ix_calendar_boxes_ship_month_status")
        batch_op.drop_index(batch_op.f("ix_calendar_boxes_customer_id"))
    op.drop_table("calendar_boxes")
