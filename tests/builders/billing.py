"""Customers, their subscriptions, calendar boxes and shipments, put straight into the database
for tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from sqlalchemy import insert, select

from shop.accounts.addresses import address_of
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
from shop.billing.shipping import new_shipment
from shop.catalog.models import Box, Plan
from shop.db import utcnow
from shop.extensions import db
from tests.builders.content import make_box

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
    shipment = new_shipment(box, address_of(customer, "shipping_"), status)
    shipment.carrier, shipment.tracking_number = carrier, tracking_number
    shipment.shipped_at = shipped_at or (utcnow() if status is ShipmentStatus.SHIPPED else None)
    db.session.add(shipment)
    db.session.commit()
    return shipment


def subscriber(
    name: str, plan: Plan, month: str, *, sequence: int = 1, **address: str
) -> CalendarBox:
    """A customer with a subscription whose box `sequence` ships in `month`."""
    email = f"{name.split()[0].lower()}{next(_seq)}@example.com"
    customer = make_customer(email, name=name, **address)
    return make_calendar_box(make_subscription(customer, plan), month, sequence=sequence)


def many_shipments(plan: Plan, month: str, number: int, *, name: str = "Packer") -> None:
    """`number` shipments of `plan` in `month`, one subscription each, in a few bulk inserts."""
    n = next(_seq)
    customer = make_customer(f"bulk{n}@example.com", name=name)
    prefix = f"bulk{n}_"
    db.session.execute(
        insert(Subscription),
        [
            {
                "stripe_subscription_id": f"sub_{prefix}{i}",
                "customer_id": customer.id,
                "plan_id": plan.id,
                "status": SubscriptionStatus.ACTIVE,
            }
            for i in range(number)
        ],
    )
    subscription_ids = db.session.scalars(
        select(Subscription.id)
        .where(Subscription.stripe_subscription_id.startswith(f"sub_{prefix}"))
        .order_by(Subscription.id)
    ).all()
    db.session.execute(
        insert(Invoice),
        [
            {
                "stripe_invoice_id": f"in_{prefix}{i}",
                "subscription_id": subscription_id,
                "plan_id": plan.id,
                "status": "paid",
            }
            for i, subscription_id in enumerate(subscription_ids)
        ],
    )
    invoice_ids = db.session.scalars(
        select(Invoice.id)
        .where(Invoice.stripe_invoice_id.startswith(f"in_{prefix}"))
        .order_by(Invoice.id)
    ).all()
    db.session.execute(
        insert(CalendarBox),
        [
            {
                "subscription_id": subscription_id,
                "customer_id": customer.id,
                "invoice_id": invoice_id,
                "plan_id": plan.id,
                "box_id": plan.box_id,
                "ship_month": month,
                "sequence": 1,
                "term_months": plan.term_months,
                "status": BoxStatus.SCHEDULED,
            }
            for subscription_id, invoice_id in zip(subscription_ids, invoice_ids, strict=True)
        ],
    )
    boxes = db.session.execute(
        select(CalendarBox.id, CalendarBox.subscription_id, CalendarBox.invoice_id)
        .where(CalendarBox.customer_id == customer.id)
        .order_by(CalendarBox.id)
    ).all()
    db.session.execute(
        insert(Shipment),
        [
            {
                "calendar_box_id": box_id,
                "invoice_id": invoice_id,
                "subscription_id": subscription_id,
                "customer_id": customer.id,
                "box_id": plan.box_id,
                "plan_id": plan.id,
                "ship_month": month,
                "status": ShipmentStatus.TO_PACK,
                "ship_to_name": f"{name} {i}",
                "ship_to_line1": f"{i} Long St",
                "ship_to_city": "Perth",
                "ship_to_state": "WA",
                "ship_to_postal_code": "6000",
                "ship_to_country": "AU",
            }
            for i, (box_id, subscription_id, invoice_id) in enumerate(boxes)
        ],
    )
    db.session.commit()
