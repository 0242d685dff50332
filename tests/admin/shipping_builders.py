"""Boxes on the calendar and their shipments, put straight into the database for admin tests."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from sqlalchemy import insert, select

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


def make_plan(box: Box | None = None, *, term_months: int = 3) -> Plan:
    n = next(_seq)
    box = box or make_box(slug=f"box-{n}", name=f"Box {n}", position=n)
    plan = Plan(
        box_id=box.id,
        term_months=term_months,
        price_cents=4995 * term_months,
        lookup_key=f"{box.slug}-{term_months}m-{n}",
    )
    db.session.add(plan)
    db.session.commit()
    return plan


def make_customer(
    name: str = "Jo Lifter",
    *,
    email: str | None = None,
    line1: str = "12 Bondi Rd",
    city: str = "Bondi",
    state: str = "NSW",
    postal_code: str = "2026",
    country: str = "AU",
) -> Customer:
    n = next(_seq)
    customer = Customer(
        email=email or f"{name.split()[0].lower()}{n}@example.com",
        name=name,
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


def make_subscription(
    customer: Customer,
    plan: Plan,
    *,
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
    ended_at: datetime | None = None,
) -> Subscription:
    subscription = Subscription(
        stripe_subscription_id=f"sub_admin{next(_seq)}",
        customer_id=customer.id,
        plan_id=plan.id,
        status=status,
        ended_at=ended_at,
    )
    db.session.add(subscription)
    db.session.commit()
    return subscription


def make_invoice(subscription: Subscription) -> Invoice:
    invoice = Invoice(
        stripe_invoice_id=f"in_admin{next(_seq)}",
        subscription_id=subscription.id,
        plan_id=subscription.plan_id,
        status="paid",
        amount_due_cents=4995,
        amount_paid_cents=4995,
        paid_at=utcnow(),
    )
    db.session.add(invoice)
    db.session.commit()
    return invoice


def grant_box(
    subscription: Subscription,
    month: str,
    *,
    sequence: int = 1,
    invoice: Invoice | None = None,
    status: BoxStatus = BoxStatus.SCHEDULED,
) -> CalendarBox:
    """One paid-for box on the calendar (as a paid invoice grants it)."""
    plan = db.session.get(Plan, subscription.plan_id)
    invoice = invoice or make_invoice(subscription)
    box = CalendarBox(
        subscription_id=subscription.id,
        customer_id=subscription.customer_id,
        invoice_id=invoice.id,
        plan_id=plan.id,
        box_id=plan.box_id,
        ship_month=month,
        sequence=sequence,
        term_months=plan.term_months,
        status=status,
        held_at=utcnow() if status is BoxStatus.HELD else None,
    )
    db.session.add(box)
    db.session.commit()
    return box


def subscriber(
    name: str, plan: Plan, month: str, *, sequence: int = 1, **address: str
) -> CalendarBox:
    """A customer with a subscription whose box `sequence` ships in `month`."""
    customer = make_customer(name, **address)
    return grant_box(make_subscription(customer, plan), month, sequence=sequence)


def ship(box: CalendarBox, *, status: ShipmentStatus = ShipmentStatus.TO_PACK) -> Shipment:
    """The box's shipment, as the run would make it (the customer's address)."""
    customer = db.session.get(Customer, box.customer_id)
    shipment = Shipment(
        calendar_box_id=box.id,
        invoice_id=box.invoice_id,
        subscription_id=box.subscription_id,
        customer_id=box.customer_id,
        box_id=box.box_id,
        plan_id=box.plan_id,
        ship_month=box.ship_month,
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


def many_shipments(plan: Plan, month: str, number: int, *, name: str = "Packer") -> None:
    """`number` shipments of `plan` in `month`, one subscription each, in a few bulk inserts."""
    n = next(_seq)
    customer = make_customer(name, email=f"bulk{n}@example.com")
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
