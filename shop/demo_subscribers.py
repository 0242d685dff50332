"""Demo subscribers for development and demos: customers at different points of their box
calendars, so `make run` shows a real shipping month and real accounts.

Written for this project. They exist only in the shop's database (their Stripe ids start with
`demo_`; Stripe has never heard of them, so their billing portal is unavailable). Idempotent:
running it twice changes nothing. Times are relative to now, so the calendar is always current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from shop.accounts.addresses import PostalAddress, store_address
from shop.accounts.models import Customer
from shop.billing.calendar import current_month, grant_boxes
from shop.billing.models import (
    CalendarBox,
    Invoice,
    ShipmentStatus,
    Subscription,
    SubscriptionStatus,
)
from shop.billing.shipping import new_shipment
from shop.catalog.models import Plan
from shop.dates import shop_timezone
from shop.db import utcnow
from shop.extensions import db


@dataclass(frozen=True)
class DemoSubscriber:
    email: str
    name: str
    address: PostalAddress
    plan: str  # lookup key
    paid_months_ago: int  # when the current term was paid
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    cancel_at_period_end: bool = False
    skipping: bool = False


def _address(name: str, line1: str, city: str, state: str, postcode: str) -> PostalAddress:
    return PostalAddress(name, line1, "", city, state, postcode, "AU")


DEMO_SUBSCRIBERS = (
    DemoSubscriber(
        "liam.demo@example.com",
        "Liam Nguyen",
        _address("Liam Nguyen", "14 Crown St", "Surry Hills", "NSW", "2010"),
        "musclebox-1m",
        0,
    ),
    DemoSubscriber(
        "ava.demo@example.com",
        "Ava Thompson",
        _address("Ava Thompson", "3/27 Brunswick St", "Fitzroy", "VIC", "3065"),
        "miss-musclebox-3m",
        1,
    ),
    DemoSubscriber(
        "noah.demo@example.com",
        "Noah Williams",
        _address("Noah Williams", "88 Boundary St", "West End", "QLD", "4101"),
        "protein-musclebox-12m",
        4,
    ),
    DemoSubscriber(
        "mia.demo@example.com",
        "Mia Patel",
        _address("Mia Patel", "5 Hay St", "Subiaco", "WA", "6008"),
        "protein-musclebox-6m",
        2,
        cancel_at_period_end=True,
    ),
    DemoSubscriber(
        "jack.demo@example.com",
        "Jack Robinson",
        _address("Jack Robinson", "21 King William Rd", "Unley", "SA", "5061"),
        "musclebox-1m",
        0,
        skipping=True,
    ),
)


def seed_demo_subscribers() -> list[str]:
    """Add the demo subscribers that are not there yet, with their paid terms' boxes; last
    month's boxes are shipped. Commits; returns what it added."""
    added: list[str] = []
    now = utcnow()
    for demo in DEMO_SUBSCRIBERS:
        if db.session.scalar(select(Customer.id).where(Customer.email == demo.email)):
            continue
        plan = db.session.scalar(select(Plan).where(Plan.lookup_key == demo.plan))
        if plan is None:
            continue  # the demo catalogue is not loaded
        slug = demo.email.split("@")[0].replace(".", "_")
        customer = Customer(email=demo.email, name=demo.name, stripe_customer_id=f"demo_cus_{slug}")
        store_address(customer, "shipping_", demo.address)
        paid_at = now - timedelta(days=30 * demo.paid_months_ago + 2)
        period_end = paid_at + timedelta(days=30 * plan.term_months)
        subscription = Subscription(
            stripe_subscription_id=f"demo_sub_{slug}",
            stripe_customer_id=customer.stripe_customer_id,
            customer=customer,
            plan=plan,
            status=demo.status,
            current_period_start=paid_at,
            current_period_end=period_end,
            cancel_at_period_end=demo.cancel_at_period_end,
            pause_behavior="void" if demo.skipping else None,
            pause_resumes_at=period_end + timedelta(days=1) if demo.skipping else None,
            stripe_state_at=now,
        )
        store_address(subscription, "ship_to_", demo.address)
        db.session.add_all([customer, subscription])
        db.session.flush()
        invoice = Invoice(
            stripe_invoice_id=f"demo_in_{slug}",
            subscription_id=subscription.id,
            plan_id=plan.id,
            status="paid",
            amount_due_cents=plan.price_cents,
            amount_paid_cents=plan.price_cents,
            period_start=paid_at,
            period_end=period_end,
            paid_at=paid_at,
        )
        db.session.add(invoice)
        db.session.flush()
        for box in grant_boxes(invoice, subscription, plan):
            if box.ship_month < current_month():
                _shipped(box, demo.address)
        added.append(f"demo subscriber {demo.email} ({plan.lookup_key})")
    db.session.commit()
    return added


def _shipped(box: CalendarBox, address: PostalAddress) -> None:
    shipment = new_shipment(box, address, ShipmentStatus.SHIPPED)
    shipment.carrier = "Australia Post"
    shipment.tracking_number = f"MB{box.id:08d}AU"
    # Packed and sent a couple of days after the month's cut-off, as the shop does.
    year, month = int(box.ship_month[:4]), int(box.ship_month[5:])
    sent = datetime(year, month, 22, 10, tzinfo=shop_timezone()).astimezone(UTC)
    shipment.packed_at = shipment.shipped_at = shipment.shipped_email_sent_at = sent
    db.session.add(shipment)
