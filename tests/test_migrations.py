"""Migrations build the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from shop.extensions import db


def test_upgrade_from_empty_matches_the_models(app):
    db.drop_all()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], differences
    assert {"articles", "comments", "boxes", "admin_users"} <= set(
        inspect(db.engine).get_table_names()
    )


def test_downgrade_to_base_removes_everything(app):
    db.drop_all()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}


def test_existing_shipments_become_calendar_boxes(app):
    """Upgrading a shop that already sold boxes: each old shipment (one per invoice) becomes
    box 1 of its invoice, and subscriptions take their account's Stripe customer and address."""
    from sqlalchemy import text

    db.drop_all()
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(revision="b6f84050a816")
    now = "2026-11-10 01:00:00+00:00"
    statements = [
        "INSERT INTO boxes (id, slug, name, tagline, description, whats_inside, image_alt, "
        "position, is_active, created_at, updated_at) VALUES (1, 'musclebox', 'MuscleBox', 't', "
        "'d', '[]', '', 0, true, :now, :now)",
        "INSERT INTO plans (id, box_id, term_months, price_cents, currency, lookup_key, "
        "is_active, created_at, updated_at) VALUES (1, 1, 3, 13995, 'aud', 'musclebox-3m', true, "
        ":now, :now)",
        "INSERT INTO customers (id, email, name, stripe_customer_id, shipping_name, "
        "shipping_line1, shipping_line2, shipping_city, shipping_state, shipping_postal_code, "
        "shipping_country, created_at, updated_at) VALUES (1, 'bea@example.com', 'Bea', "
        "'cus_1', 'Bea', '1 George St', '', 'Sydney', 'NSW', '2000', 'AU', :now, :now)",
        "INSERT INTO subscriptions (id, stripe_subscription_id, customer_id, plan_id, status, "
        "cancel_at_period_end, created_at, updated_at) VALUES (1, 'sub_1', 1, 1, 'active', "
        "false, :now, :now)",
        "INSERT INTO invoices (id, stripe_invoice_id, subscription_id, status, "
        "amount_due_cents, amount_paid_cents, currency, created_at) VALUES (1, 'in_1', 1, "
        "'paid', 13995, 13995, 'aud', :now)",
        "INSERT INTO shipments (id, invoice_id, subscription_id, customer_id, box_id, plan_id, "
        "status, ship_to_name, ship_to_line1, ship_to_line2, ship_to_city, ship_to_state, "
        "ship_to_postal_code, ship_to_country, created_at, updated_at) VALUES (1, 1, 1, 1, 1, 1, "
        "'to_pack', 'Bea', '1 George St', '', 'Sydney', 'NSW', '2000', 'AU', :now, :now)",
    ]
    with db.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), {"now": now})
    upgrade()
    with db.engine.connect() as connection:
        box = connection.execute(
            text("SELECT ship_month, sequence, term_months, status FROM calendar_boxes")
        ).one()
        shipment = connection.execute(
            text("SELECT calendar_box_id, ship_month FROM shipments")
        ).one()
        subscription = connection.execute(
            text("SELECT stripe_customer_id, ship_to_line1 FROM subscriptions")
        ).one()
    assert tuple(box) == ("2026-11", 1, 3, "scheduled")
    assert shipment.ship_month == "2026-11" and shipment.calendar_box_id is not None
    assert tuple(subscription) == ("cus_1", "1 George St")
    downgrade(revision="b6f84050a816")
    upgrade()
