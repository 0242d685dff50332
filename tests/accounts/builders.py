"""Customers, their subscriptions, calendar boxes and shipments, put straight into the database
for tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from shop.accounts.models import Customer
from shop.billing.models import (
    BoxStatus,
    CalendarBox,
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
    skipping: bool = False,
    stripe_customer_id: str | None = None,
) -> Subscription:
    """A subscription of `customer`, paid through the customer's own Stripe customer unless
    told otherwise; `skipping` skips its next renewal the way Stripe's pause_collection does."""
    plan = plan or make_plan()
    end = current_period_end or utcnow() + timedelta(days=20)
    subscription = Subscription(
        stripe_subscription_id=f"sub_test{next(_seq)}",
        stripe_customer_id=stripe_customer_id or customer.stripe_customer_id,
        customer_id=customer.id,
        plan_id=plan.id,
        status=status,
        current_period_start=end - timedelta(days=30),
        current_period_end=end,
        cancel_at_period_end=cancel_at_period_end,
        cancel_at=cancel_at,
        ended_at=ended_at,
        pause_behavior="void" if skipping else None,
        pause_resumes_at=end + timedelta(days=1) if skipping else None,
    )
    db.session.add(subscription)
    db.session.commit()
    return subscription


def make_invoice(subscription: Subscription, *, paid_at: datetime | None = None) -> Invoice:
    """A paid invoice of the subscription's plan for one term."""
    start = paid_at or utcnow() - timedelta(days=10)
    invoice = Invoice(
        stripe_invoice_id=f"in_test{next(_seq)}",
        subscription_id=subscription.id,
        plan_id=subscription.plan_id,
        status="paid",
        amount_due_cents=subscription.plan.price_cents,
        amount_paid_cents=subscription.plan.price_cents,
        period_start=start,
        period_end=start + timedelta(days=30 * subscription.plan.term_months),
        paid_at=start,
    )
    db.session.add(invoice)
    db.session.commit()
    return invoice


def make_calendar_box(
    subscription: Subscription,
    ship_month: str,
    *,
    sequence: int = 1,
    status: BoxStatus = BoxStatus.SCHEDULED,
    invoice: Invoice | None = None,
) -> CalendarBox:
    """Box `sequence` of the subscription's plan term, to ship in `ship_month` (YYYY-MM)."""
    invoice = invoice or make_invoice(subscription)
    box = CalendarBox(
        subscription_id=subscription.id,
        customer_id=subscription.customer_id,
        invoice_id=invoice.id,
        plan_id=subscription.plan_id,
        box_id=subscription.plan.box_id,
        ship_month=ship_month,
        sequence=sequence,
        term_months=subscription.plan.term_months,
        status=status,
        held_at=utcnow() if status is BoxStatus.HELD else None,
    )
    db.session.add(box)
    db.session.commit()
    return box


def make_shipment(
    box: CalendarBox,
    *,
    status: ShipmentStatus = ShipmentStatus.TO_PACK,
    carrier: str = "",
    tracking_number: str = "",
    shipped_at: datetime | None = None,
) -> Shipment:
    """The calendar box in its month's shipping run, addressed as its customer is now."""
    customer = db.session.get(Customer, box.customer_id)
    assert customer is not None
    shipment = Shipment(
        calendar_box_id=box.id,
        invoice_id=box.invoice_id,
        subscription_id=box.subscription_id,
        customer_id=box.customer_id,
        box_id=box.box_id,
        plan_id=box.plan_id,
        ship_month=box.ship_month,
        status=status,
        carrier=carrier,
        tracking_number=tracking_number,
        shipped_at=shipped_at or (utcnow() if status is ShipmentStatus.SHIPPED else None),
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
