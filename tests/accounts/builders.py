"""Customers, their subscriptions and shipments, put straight into the database for tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from shop.accounts.models import Customer
from shop.billing.models import (
    Invoice,
    Shipment,
    ShipmentStatus,
    Subscription,
    SubscriptionStatus,
)
from shop.catalog.models import Box, Plan
from shop.db import utcnow
from shop.extensions import db
from tests.builders import make_box

_seq = count(1)


def make_customer(
    email: str = "jo@example.com",
    *,
    name: str = "Jo Lifter",
    stripe_customer_id: str | None = "auto",
    line1: str = "12 Bondi Rd",
    city: str = "Bondi",
    state: str = "NSW",
    postal_code: str = "2026",
    country: str = "AU",
) -> Customer:
    n = next(_seq)
    customer = Customer(
        email=email,
        name=name,
        stripe_customer_id=f"cus_test{n}" if stripe_customer_id == "auto" else stripe_customer_id,
        shipping_name=name,
        shipping_line1=line1,
        shipping_city=city,
        shipping_state=state,
        shipping_postal_code=postal_code,
        shipping_country=country,
    )
    db.session.add(customer)
    db.session.commit()
    return customer


def make_plan(box: Box | None = None, *, term_months: int = 1, price_cents: int = 4995) -> Plan:
    n = next(_seq)
    box = box or make_box(slug=f"box-{n}", name=f"Box {n}")
    plan = Plan(
        box_id=box.id,
        term_months=term_months,
        price_cents=price_cents,
        lookup_key=f"{box.slug}-{term_months}m-{n}",
    )
    db.session.add(plan)
    db.session.commit()
    return plan


def make_subscription(
    customer: Customer,
    plan: Plan | None = None,
    *,
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
    current_period_end: datetime | None = None,
    cancel_at_period_end: bool = False,
    cancel_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> Subscription:
    plan = plan or make_plan()
    end = current_period_end or utcnow() + timedelta(days=20)
    subscription = Subscription(
        stripe_subscription_id=f"sub_test{next(_seq)}",
        customer_id=customer.id,
        plan_id=plan.id,
        status=status,
        current_period_start=end - timedelta(days=30),
        current_period_end=end,
        cancel_at_period_end=cancel_at_period_end,
        cancel_at=cancel_at,
        ended_at=ended_at,
    )
    db.session.add(subscription)
    db.session.commit()
    return subscription


def make_shipment(
    subscription: Subscription,
    *,
    status: ShipmentStatus = ShipmentStatus.TO_PACK,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
) -> Shipment:
    start = period_start or utcnow() - timedelta(days=10)
    end = period_end or start + timedelta(days=30)
    invoice = Invoice(
        stripe_invoice_id=f"in_test{next(_seq)}",
        subscription_id=subscription.id,
        status="paid",
        amount_due_cents=subscription.plan.price_cents,
        amount_paid_cents=subscription.plan.price_cents,
        period_start=start,
        period_end=end,
        paid_at=start,
    )
    db.session.add(invoice)
    db.session.flush()
    customer = subscription.customer
    shipment = Shipment(
        invoice_id=invoice.id,
        subscription_id=subscription.id,
        customer_id=subscription.customer_id,
        box_id=subscription.plan.box_id,
        plan_id=subscription.plan_id,
        period_start=start,
        period_end=end,
        status=status,
        ship_to_name=customer.shipping_name,
        ship_to_line1=customer.shipping_line1,
        ship_to_city=customer.shipping_city,
        ship_to_state=customer.shipping_state,
        ship_to_postal_code=customer.shipping_postal_code,
        ship_to_country=customer.shipping_country,
    )
    db.session.add(shipment)
    db.session.commit()
    return shipment
