"""A realistic shop for tests (and benchmarks): boxes, plans, customers and a year of trading.

`realistic_business(subscriptions=120)` puts into the database, in a handful of bulk inserts:

- three boxes, each on 1, 3, 6 and 12-month plans (reused when a test builds a second business);
- customers (about one in five has two subscriptions) with Australian addresses;
- subscriptions created over the last 14 months in every state — active, trialing, past due,
  unpaid, skipping, paused, cancelling at period end, cancel_at set, cancelled (ended at a moment
  between their start and now), incomplete and incomplete_expired; the first subscriptions take
  each state in turn so even a small business has every state;
- each started subscription's invoices, one per term from its start until it ended (or now), the
  last one left open for past-due and unpaid subscriptions; the boxes each paid invoice grants
  (consecutive ship months, as the calendar does), held or cancelled past a cancelled
  subscription's end; shipments for the boxes of past months (shipped) and this month (to pack
  or packed);
- the Stripe events those would have sent, recorded as the webhook records them (with their
  subjects), a few failed and a few ignored;
- an article with comments, many pending, some written by customers (one under an upper-case
  version of the customer's email).

Deterministic for a given `seed` and `now`. Returns a `Business` naming what it made; tests count
what they check from the database themselves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import insert, select

from shop.accounts.models import Customer
from shop.billing.calendar import add_months, month_of
from shop.billing.models import (
    BoxStatus,
    CalendarBox,
    EventOutcome,
    Invoice,
    Shipment,
    ShipmentStatus,
    Subscription,
    SubscriptionStatus,
    WebhookEvent,
)
from shop.billing.webhooks import event_subjects
from shop.catalog.models import TERMS_MONTHS, Box, Plan
from shop.comments.models import CommentStatus
from shop.dates import shop_timezone
from shop.db import utcnow
from shop.extensions import db
from tests.builders.content import make_article, make_box, make_comment

_batches = count(1)

BOXES = (
    ("musclebox", "MuscleBox", (4995, 13995, 26995, 49995)),
    ("shredbox", "ShredBox", (3995, 10995, 20995, 38995)),
    ("recoverybox", "RecoveryBox", (2995, 8495, 15995, 29995)),
)
TERM_WEIGHTS = (50, 25, 15, 10)  # monthly plans sell best

# (kind, weight): kinds are the builder's, each maps to one Stripe shape below.
KINDS = (
    ("active", 48),
    ("trialing", 2),
    ("past_due", 6),
    ("unpaid", 2),
    ("skipping", 6),
    ("paused", 2),
    ("cancelling", 7),
    ("cancel_at", 2),
    ("canceled", 20),
    ("incomplete", 2),
    ("incomplete_expired", 1),
)
STATUS_OF_KIND = {
    "active": SubscriptionStatus.ACTIVE,
    "trialing": SubscriptionStatus.TRIALING,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.UNPAID,
    "skipping": SubscriptionStatus.ACTIVE,
    "paused": SubscriptionStatus.PAUSED,
    "cancelling": SubscriptionStatus.ACTIVE,
    "cancel_at": SubscriptionStatus.ACTIVE,
    "canceled": SubscriptionStatus.CANCELED,
    "incomplete": SubscriptionStatus.INCOMPLETE,
    "incomplete_expired": SubscriptionStatus.INCOMPLETE_EXPIRED,
}
FIRST_NAMES = ("Ava", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hamish", "Isla", "Jack")
LAST_NAMES = ("Nguyen", "Smith", "O'Brien", "Patel", "Wilson", "Chen", "Taylor", "Kelly")
TOWNS = (
    ("Bondi", "NSW", "2026"),
    ("Fitzroy", "VIC", "3065"),
    ("New Farm", "QLD", "4005"),
    ("Fremantle", "WA", "6160"),
    ("Glenelg", "SA", "5045"),
    ("Hobart", "TAS", "7000"),
)
DAY = timedelta(days=1)


@dataclass
class Business:
    now: datetime
    boxes: list[Box]
    plans: list[Plan]
    customer_ids: list[int] = field(default_factory=list)
    subscription_ids: list[int] = field(default_factory=list)
    commenter_emails: list[str] = field(default_factory=list)


def business_catalogue() -> tuple[list[Box], list[Plan]]:
    """The three boxes and their twelve plans, made once per database."""
    boxes, plans = [], []
    for position, (slug, name, prices) in enumerate(BOXES):
        box = db.session.scalar(select(Box).where(Box.slug == slug)) or make_box(
            slug, name, position
        )
        boxes.append(box)
        for term, price in zip(TERMS_MONTHS, prices, strict=True):
            plan = db.session.scalar(
                select(Plan).where(Plan.box_id == box.id, Plan.term_months == term)
            )
            if plan is None:
                plan = Plan(
                    box_id=box.id, term_months=term, price_cents=price, lookup_key=f"{slug}-{term}m"
                )
                db.session.add(plan)
                db.session.commit()
            plans.append(plan)
    return boxes, plans


def _kinds(rng: random.Random, number: int) -> list[str]:
    names = [kind for kind, _ in KINDS]
    weights = [weight for _, weight in KINDS]
    chosen = names[:number]
    chosen += rng.choices(names, weights, k=max(0, number - len(names)))
    return chosen


def _event(
    batch: int,
    number: int,
    type_: str,
    at: datetime,
    obj: dict[str, Any],
    outcome: EventOutcome = EventOutcome.PROCESSED,
) -> dict[str, Any]:
    event_id = f"evt_biz{batch}_{number}"
    payload = {
        "id": event_id,
        "object": "event",
        "type": type_,
        "api_version": "2026-10-28.endive",
        "created": int(at.timestamp()),
        "livemode": False,
        "data": {"object": obj},
    }
    object_id, subscription_id = event_subjects(payload)
    failed = outcome is EventOutcome.FAILED
    return {
        "stripe_event_id": event_id,
        "type": type_,
        "api_version": "2026-10-28.endive",
        "stripe_created_at": at,
        "payload": payload,
        "received_at": at + timedelta(seconds=2),
        "processed_at": None if failed else at + timedelta(seconds=3),
        "outcome": outcome,
        "error": {
            EventOutcome.FAILED: "APIConnectionError: Stripe could not be reached",
            EventOutcome.IGNORED: "The shop does not act on this type of event.",
        }.get(outcome),
        "attempts": 10 if failed else 1,
        "next_attempt_at": at + timedelta(seconds=2),
        "object_id": object_id,
        "stripe_subscription_id": subscription_id,
    }


def realistic_business(
    subscriptions: int = 120, *, seed: int = 9, now: datetime | None = None
) -> Business:
    """Build the business described in the module docstring; commits."""
    now = now or utcnow()
    rng = random.Random(seed)
    batch = next(_batches)
    tz = shop_timezone()
    this_month = month_of(now, tz)
    boxes, plans = business_catalogue()
    business = Business(now=now, boxes=boxes, plans=plans)

    # Customers: one per subscription, except that about one in five buys a second one.
    customer_count = max(1, subscriptions * 4 // 5)
    starts = [now - DAY * rng.uniform(0.5, 425) for _ in range(subscriptions)]
    customer_rows = []
    for number in range(customer_count):
        first = FIRST_NAMES[number % len(FIRST_NAMES)]
        last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
        town, state, postcode = TOWNS[number % len(TOWNS)]
        # A customer signs up with their first subscription.
        created = min(starts[number::customer_count], default=now) - timedelta(minutes=5)
        customer_rows.append(
            {
                "email": f"{first.lower()}.{last.lower().replace(chr(39), '')}.{batch}.{number}@example.com",
                "name": f"{first} {last}",
                "stripe_customer_id": f"cus_biz{batch}_{number}",
                "shipping_name": f"{first} {last}",
                "shipping_line1": f"{number + 1} Beach Rd",
                "shipping_line2": "",
                "shipping_city": town,
                "shipping_state": state,
                "shipping_postal_code": postcode,
                "shipping_country": "AU",
                "created_at": created,
                "updated_at": created,
            }
        )
    customers = db.session.execute(
        insert(Customer).returning(Customer.id, sort_by_parameter_order=True), customer_rows
    ).all()
    business.customer_ids = [row.id for row in customers]

    term_plans = {
        term: [plan for plan in plans if plan.term_months == term] for term in TERMS_MONTHS
    }
    subscription_rows = []
    shapes = []  # per subscription: (kind, plan, created, ended, customer index)
    for number, kind in enumerate(_kinds(rng, subscriptions)):
        term = rng.choices(TERMS_MONTHS, TERM_WEIGHTS)[0]
        plan = rng.choice(term_plans[term])
        customer_index = number % customer_count
        created = starts[number]
        ended = None
        if kind == "canceled":
            ended = created + (now - created) * rng.uniform(0.15, 0.97)
        shapes.append((kind, plan, created, ended, customer_index))
        status = STATUS_OF_KIND[kind]
        subscription_rows.append(
            {
                "stripe_subscription_id": f"sub_biz{batch}_{number}",
                "stripe_customer_id": customer_rows[customer_index]["stripe_customer_id"],
                "customer_id": business.customer_ids[customer_index],
                "plan_id": plan.id,
                "status": status,
                "cancel_at_period_end": kind == "cancelling",
                "cancel_at": now + DAY * rng.uniform(2, 25) if kind == "cancel_at" else None,
                "canceled_at": (ended - DAY * rng.uniform(0, 20)) if ended else None,
                "ended_at": ended,
                "pause_behavior": "void" if kind == "skipping" else None,
                "pause_resumes_at": now + DAY * 35 if kind == "skipping" else None,
                "created_at": created,
                "updated_at": ended or created,
                **_ship_to(customer_rows[customer_index]),
            }
        )
    # canceled_at may not precede the start.
    for row in subscription_rows:
        if row["canceled_at"] is not None and row["canceled_at"] < row["created_at"]:
            row["canceled_at"] = row["created_at"]
    inserted = db.session.execute(
        insert(Subscription).returning(Subscription.id, sort_by_parameter_order=True),
        subscription_rows,
    ).all()
    business.subscription_ids = [row.id for row in inserted]

    invoice_rows, invoice_keys = [], []
    events: list[dict[str, Any]] = []
    event_number = count(1)
    period_updates = []
    for index, (kind, plan, created, ended, _customer) in enumerate(shapes):
        subscription_id = business.subscription_ids[index]
        stripe_id = subscription_rows[index]["stripe_subscription_id"]
        status = STATUS_OF_KIND[kind]
        session = {
            "id": f"cs_biz{batch}_{index}",
            "object": "checkout.session",
            "mode": "subscription",
            "status": "complete" if kind not in ("incomplete", "incomplete_expired") else "open",
            "payment_status": "paid"
            if kind not in ("incomplete", "incomplete_expired")
            else "unpaid",
            "subscription": stripe_id,
        }
        events.append(
            _event(batch, next(event_number), "checkout.session.completed", created, session)
        )
        events.append(
            _event(
                batch,
                next(event_number),
                "customer.subscription.created",
                created + timedelta(seconds=1),
                {
                    "id": stripe_id,
                    "object": "subscription",
                    "status": "active"
                    if kind not in ("incomplete", "incomplete_expired")
                    else "incomplete",
                },
            )
        )
        term_days = 30 * plan.term_months
        until = ended or now
        periods = []
        start = created
        while start < until:
            periods.append(start)
            start += DAY * term_days
        if kind in ("incomplete", "incomplete_expired"):
            periods = periods[:1]
        for period_number, period_start in enumerate(periods):
            last = period_number == len(periods) - 1
            unpaid = (kind in ("past_due", "unpaid") and last and period_number > 0) or kind in (
                "incomplete",
                "incomplete_expired",
            )
            invoice_id = f"in_biz{batch}_{index}_{period_number}"
            invoice_rows.append(
                {
                    "stripe_invoice_id": invoice_id,
                    "subscription_id": subscription_id,
                    "plan_id": plan.id,
                    "status": "open" if unpaid else "paid",
                    "amount_due_cents": plan.price_cents,
                    "amount_paid_cents": 0 if unpaid else plan.price_cents,
                    "currency": "aud",
                    "period_start": period_start,
                    "period_end": period_start + DAY * term_days,
                    "paid_at": None if unpaid else period_start,
                    "created_at": period_start,
                }
            )
            invoice_keys.append((index, period_number, not unpaid))
            invoice_obj = {
                "id": invoice_id,
                "object": "invoice",
                "status": "open" if unpaid else "paid",
                "parent": {
                    "type": "subscription_details",
                    "subscription_details": {"subscription": stripe_id},
                },
            }
            events.append(
                _event(
                    batch,
                    next(event_number),
                    "invoice.payment_failed" if unpaid else "invoice.paid",
                    period_start + timedelta(seconds=5),
                    invoice_obj,
                    EventOutcome.FAILED if len(events) % 41 == 7 else EventOutcome.PROCESSED,
                )
            )
        if periods:
            period_updates.append(
                {
                    "row_id": subscription_id,
                    "start": periods[-1],
                    "end": periods[-1] + DAY * term_days,
                }
            )
        later = created + (until - created) * 0.9
        if kind in ("cancelling", "cancel_at", "skipping", "past_due", "unpaid", "paused"):
            events.append(
                _event(
                    batch,
                    next(event_number),
                    "customer.subscription.updated",
                    later,
                    {
                        "id": stripe_id,
                        "object": "subscription",
                        "status": status.value,
                        "cancel_at_period_end": kind == "cancelling",
                        "pause_collection": {"behavior": "void"} if kind == "skipping" else None,
                    },
                )
            )
        if ended is not None:
            events.append(
                _event(
                    batch,
                    next(event_number),
                    "customer.subscription.deleted",
                    ended,
                    {"id": stripe_id, "object": "subscription", "status": "canceled"},
                )
            )
    # Events the shop does not act on, and one about a customer.
    for number in range(max(2, subscriptions // 40)):
        at = now - DAY * rng.uniform(1, 360)
        events.append(
            _event(
                batch,
                next(event_number),
                "balance.available",
                at,
                {"id": f"bal_biz{batch}_{number}", "object": "balance"},
                EventOutcome.IGNORED,
            )
        )
    # A few failures an admin must see, whatever the size.
    for event in events[3:6]:
        event.update(outcome=EventOutcome.FAILED, processed_at=None, attempts=10)
        event["error"] = "APIConnectionError: Stripe could not be reached"

    if period_updates:
        db.session.execute(
            Subscription.__table__.update()
            .where(Subscription.__table__.c.id == db.bindparam("row_id"))
            .values(
                current_period_start=db.bindparam("start"),
                current_period_end=db.bindparam("end"),
            ),
            period_updates,
        )
    invoices = db.session.execute(
        insert(Invoice).returning(Invoice.id, sort_by_parameter_order=True), invoice_rows
    ).all()

    # The boxes of each paid invoice, on consecutive months per subscription.
    box_rows = []
    next_month: dict[int, str] = {}
    for (index, _period, paid), invoice in zip(invoice_keys, invoices, strict=True):
        if not paid:
            continue
        kind, plan, created, ended, customer_index = shapes[index]
        month = next_month.get(index) or month_of(created, tz)
        end_month = month_of(ended, tz) if ended else None
        for sequence in range(1, plan.term_months + 1):
            status = BoxStatus.SCHEDULED
            if end_month is not None and month > end_month:
                status = BoxStatus.HELD if sequence % 2 else BoxStatus.CANCELLED
            box_rows.append(
                {
                    "subscription_id": business.subscription_ids[index],
                    "customer_id": business.customer_ids[customer_index],
                    "invoice_id": invoice.id,
                    "plan_id": plan.id,
                    "box_id": plan.box_id,
                    "ship_month": month,
                    "sequence": sequence,
                    "term_months": plan.term_months,
                    "status": status,
                    "held_at": ended if status is BoxStatus.HELD else None,
                    "decided_at": ended if status is BoxStatus.CANCELLED else None,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            month = add_months(month, 1)
        next_month[index] = month
    calendar = (
        db.session.execute(
            insert(CalendarBox).returning(CalendarBox.id, sort_by_parameter_order=True), box_rows
        ).all()
        if box_rows
        else []
    )
    shipment_rows = []
    index_of = {
        subscription_id: index for index, subscription_id in enumerate(business.subscription_ids)
    }
    for row, inserted_box in zip(box_rows, calendar, strict=True):
        if row["status"] is not BoxStatus.SCHEDULED or row["ship_month"] > this_month:
            continue
        index = index_of[row["subscription_id"]]
        customer = customer_rows[shapes[index][4]]
        if row["ship_month"] < this_month:
            status = ShipmentStatus.SHIPPED
        else:
            status = ShipmentStatus.PACKED if inserted_box.id % 3 == 0 else ShipmentStatus.TO_PACK
        shipment_rows.append(
            {
                "calendar_box_id": inserted_box.id,
                "invoice_id": row["invoice_id"],
                "subscription_id": row["subscription_id"],
                "customer_id": row["customer_id"],
                "box_id": row["box_id"],
                "plan_id": row["plan_id"],
                "ship_month": row["ship_month"],
                "status": status,
                "carrier": "auspost" if status is ShipmentStatus.SHIPPED else "",
                "tracking_number": f"AP{inserted_box.id:08d}"
                if status is ShipmentStatus.SHIPPED
                else "",
                "shipped_at": row["created_at"] if status is ShipmentStatus.SHIPPED else None,
                **_ship_to(customer),
            }
        )
    if shipment_rows:
        db.session.execute(insert(Shipment), shipment_rows)
    db.session.execute(insert(WebhookEvent), events)
    db.session.commit()

    _comments(business, customer_rows, rng, batch)
    return business


def _ship_to(customer: dict[str, Any]) -> dict[str, str]:
    return {
        "ship_to_name": customer["shipping_name"],
        "ship_to_line1": customer["shipping_line1"],
        "ship_to_line2": "",
        "ship_to_city": customer["shipping_city"],
        "ship_to_state": customer["shipping_state"],
        "ship_to_postal_code": customer["shipping_postal_code"],
        "ship_to_country": "AU",
    }


def _comments(
    business: Business, customers: list[dict[str, Any]], rng: random.Random, batch: int
) -> None:
    article = make_article(f"business-{batch}", title=f"Training log {batch}")
    statuses = (CommentStatus.PENDING, CommentStatus.APPROVED, CommentStatus.SPAM)
    for number in range(max(6, len(business.subscription_ids) // 10)):
        status = statuses[number % 3] if number % 2 else CommentStatus.PENDING
        make_comment(
            article,
            body=f"Comment {number} on the log",
            name=f"Reader {number}",
            email=f"reader{batch}.{number}@example.com",
            status=status,
            created_at=business.now - DAY * rng.uniform(0, 300),
        )
    for number, customer in enumerate(customers[:3]):
        email = customer["email"].upper() if number == 0 else customer["email"]
        make_comment(
            article,
            body=f"A customer's comment {number}",
            name=customer["name"],
            email=email,
            status=CommentStatus.PENDING if number != 2 else CommentStatus.APPROVED,
        )
        business.commenter_emails.append(customer["email"])
