"""A person the shop knows in every way (customer, subscriber, commenter, emailed, signed in),
and other people around them, put straight into the database for privacy tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from itertools import count

from shop.accounts.models import Customer, SignInLink
from shop.billing.models import (
    BoxStatus,
    CalendarBox,
    EventOutcome,
    Shipment,
    ShipmentStatus,
    Subscription,
    SubscriptionStatus,
    WebhookEvent,
)
from shop.blog.models import Article
from shop.catalog.models import Plan
from shop.comments.models import Comment, CommentStatus
from shop.db import utcnow
from shop.extensions import db
from shop.mail.models import EmailStatus, OutboxMessage, QueuedEmail
from tests.builders.billing import (
    make_calendar_box,
    make_customer,
    make_invoice,
    make_plan,
    make_shipment,
    make_subscription,
)
from tests.builders.content import make_article, make_box, make_comment

_seq = count(1)


@dataclass
class Person:
    """What was built for one person (ids, so tests read the database afresh)."""

    email: str
    name: str
    customer: Customer | None = None
    comment_ids: list[int] = field(default_factory=list)
    subscription_ids: list[int] = field(default_factory=list)
    shipment_ids: list[int] = field(default_factory=list)
    box_ids: list[int] = field(default_factory=list)
    email_ids: list[int] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)


def queue_email_row(
    customer: Customer, template: str, status: EmailStatus, **context: int
) -> QueuedEmail:
    n = next(_seq)
    email = QueuedEmail(
        customer_id=customer.id,
        template=template,
        context=context,
        dedupe_key=f"{template}:test{n}",
        message_id=f"<test{n}@musclebox.test>",
        status=status,
        sent_at=utcnow() - timedelta(days=3) if status is EmailStatus.SENT else None,
    )
    db.session.add(email)
    db.session.commit()
    return email


def sign_in_link_row(customer: Customer, *, used: bool) -> SignInLink:
    now = utcnow()
    link = SignInLink(
        customer_id=customer.id,
        token_hash=f"{next(_seq):064d}",
        created_at=now - timedelta(days=2),
        expires_at=now - timedelta(days=2) + timedelta(minutes=15),
        used_at=now - timedelta(days=2) + timedelta(minutes=1) if used else None,
    )
    db.session.add(link)
    db.session.commit()
    return link


def stripe_event_row(customer: Customer, email: str, name: str) -> WebhookEvent:
    """A recorded customer.updated event carrying the person's details, as Stripe sends them."""
    n = next(_seq)
    event = WebhookEvent(
        stripe_event_id=f"evt_privacy{n}",
        type="customer.updated",
        stripe_created_at=utcnow() - timedelta(days=5),
        outcome=EventOutcome.PROCESSED,
        payload={
            "id": f"evt_privacy{n}",
            "type": "customer.updated",
            "data": {
                "object": {
                    "id": customer.stripe_customer_id,
                    "object": "customer",
                    "email": email,
                    "name": name,
                    "phone": "+61 400 000 000",
                    "shipping": {"name": name, "address": {"line1": "12 Bondi Rd"}},
                    "description": f"Customer {email}",
                    "metadata": {"shop_customer_id": str(customer.id)},
                }
            },
        },
    )
    db.session.add(event)
    db.session.commit()
    return event


def commenter_history(
    email: str, name: str, articles: list[Article], *, ip: str = "198.51.100.23"
) -> list[int]:
    """Comments by one person in every status, over several articles, with a reply to them."""
    ids = []
    statuses = [
        CommentStatus.APPROVED,
        CommentStatus.APPROVED,
        CommentStatus.PENDING,
        CommentStatus.SPAM,
        CommentStatus.TRASH,
    ]
    for number, article in enumerate(articles):
        for status in statuses:
            comment = make_comment(
                article,
                body=f"{name} says: set {number} in {status.value}, see https://example.org/{number}",
                name=name,
                email=email if number % 2 == 0 else email.upper(),
                url=f"https://{name.split()[0].lower()}.example.net",
                status=status,
                ip_address=ip,
            )
            ids.append(comment.id)
    first = db.session.get(Comment, ids[0])
    assert first is not None
    first.status_reasons = [f"Email is on the blocklist ({email})", f"IP address {ip} seen"]
    db.session.commit()
    return ids


def customer_with_history(
    email: str, name: str, plan: Plan, *, live: bool, articles: list[Article]
) -> Person:
    """A customer with an ended subscription (boxes shipped), a live one unless `live` is
    False, emails sent and pending, sign-in links, a Stripe event, and comments."""
    customer = make_customer(email, name=name, line1=f"{next(_seq)} Bondi Rd")
    person = Person(email=email, name=name, customer=customer)
    ended = make_subscription(
        customer,
        plan,
        status=SubscriptionStatus.CANCELED,
        ended_at=utcnow() - timedelta(days=40),
    )
    person.subscription_ids.append(ended.id)
    invoice = make_invoice(ended, paid_at=utcnow() - timedelta(days=100))
    for sequence, month in enumerate(("2026-08", "2026-09", "2026-10"), start=1):
        box = make_calendar_box(ended, month, sequence=1, invoice=make_invoice(ended))
        shipment = make_shipment(
            box,
            status=ShipmentStatus.SHIPPED,
            carrier="Australia Post",
            tracking_number=f"AP{sequence}{next(_seq)}",
        )
        person.box_ids.append(box.id)
        person.shipment_ids.append(shipment.id)
    del invoice
    if live:
        current = make_subscription(customer, plan, status=SubscriptionStatus.ACTIVE)
        person.subscription_ids.append(current.id)
        person.box_ids.append(make_calendar_box(current, "2026-12").id)
    person.email_ids += [
        queue_email_row(
            customer, "subscription_confirmed", EmailStatus.SENT, subscription_id=ended.id
        ).id,
        queue_email_row(
            customer, "subscription_ended", EmailStatus.SENT, subscription_id=ended.id
        ).id,
        queue_email_row(
            customer, "box_shipped", EmailStatus.PENDING, shipment_id=person.shipment_ids[-1]
        ).id,
    ]
    link = sign_in_link_row(customer, used=True)
    sign_in_link_row(customer, used=False)
    person.email_ids.append(
        queue_email_row(customer, "sign_in_link", EmailStatus.SENT, link_id=link.id).id
    )
    db.session.add(
        OutboxMessage(
            to_address=email,
            subject="Your MuscleBox sign-in link",
            text_body=f"Hi {name}, here is your link.",
            html_body="<p>Hi</p>",
        )
    )
    db.session.commit()
    person.event_ids.append(stripe_event_row(customer, email, name).id)
    person.comment_ids = commenter_history(email, name, articles)
    return person


@dataclass
class World:
    """The person asked about, and other people whose data must stay as it is."""

    plan: Plan
    articles: list[Article]
    others: list[Person]


def privacy_world() -> World:
    """Articles with many comments by many people, and customers in every state."""
    plan = make_plan(make_box("musclebox", "MuscleBox"), term_months=3, price_cents=13995)
    articles = [make_article(f"privacy-{n}", title=f"Training note {n}") for n in range(3)]
    others = []
    for n in range(4):
        other = customer_with_history(
            f"other{n}@example.com", f"Other Person {n}", plan, live=n % 2 == 0, articles=articles
        )
        others.append(other)
    for n in range(10):
        make_comment(articles[n % 3], name=f"Reader {n}", email=f"reader{n}@example.com")
    # A paused subscriber and a past-due one, elsewhere.
    for status in (SubscriptionStatus.PAUSED, SubscriptionStatus.PAST_DUE):
        someone = make_customer(f"{status.value}@example.com", name=f"{status.value} person")
        make_subscription(someone, plan, status=status)
    return World(plan=plan, articles=articles, others=others)


def boxes_to_ship(person: Person) -> list[CalendarBox]:
    return list(
        db.session.scalars(
            db.select(CalendarBox).where(
                CalendarBox.id.in_(person.box_ids), CalendarBox.status == BoxStatus.SCHEDULED
            )
        )
    )


def subscriptions_of(person: Person) -> list[Subscription]:
    return list(
        db.session.scalars(
            db.select(Subscription).where(Subscription.id.in_(person.subscription_ids))
        )
    )


def shipments_of(person: Person) -> list[Shipment]:
    return list(db.session.scalars(db.select(Shipment).where(Shipment.id.in_(person.shipment_ids))))


def recorded_event(event_type: str, obj: dict[str, object]) -> WebhookEvent:
    """A recorded Stripe event about `obj`, with its subjects filled in as the webhook does."""
    from shop.billing.webhooks import event_subjects

    n = next(_seq)
    payload = {"id": f"evt_privacy{n}", "type": event_type, "data": {"object": obj}}
    object_id, subscription_id = event_subjects(payload)
    event = WebhookEvent(
        stripe_event_id=f"evt_privacy{n}",
        type=event_type,
        stripe_created_at=utcnow() - timedelta(days=4),
        outcome=EventOutcome.PROCESSED,
        payload=payload,
        object_id=object_id,
        stripe_subscription_id=subscription_id,
    )
    db.session.add(event)
    db.session.commit()
    return event


@dataclass
class StripeTrail:
    """Recorded Stripe events around one person: theirs, and other people's that mention them."""

    theirs: list[int]
    others: list[int]
    lookalike: Person


def stripe_trail(person: Person) -> StripeTrail:
    """Events about the person's customer and subscription and a checkout that named only their
    email; and events about someone else whose Stripe id starts with theirs and whose address
    ends with theirs, and a gift bought by another customer that mentions their email."""
    assert person.customer is not None and person.customer.stripe_customer_id
    own_id = person.customer.stripe_customer_id
    subscription = db.session.get(Subscription, person.subscription_ids[0])
    assert subscription is not None
    theirs = [
        recorded_event(
            "invoice.paid",
            {
                "id": f"in_privacy{next(_seq)}",
                "object": "invoice",
                "customer": own_id,
                "customer_email": person.email,
                "customer_name": person.name,
                "customer_address": {"line1": "12 Bondi Rd", "city": "Bondi"},
                "parent": {
                    "subscription_details": {"subscription": subscription.stripe_subscription_id}
                },
                "amount_paid": 13995,
            },
        ).id,
        recorded_event(
            "customer.subscription.updated",
            {
                "id": subscription.stripe_subscription_id,
                "object": "subscription",
                "customer": {"id": own_id, "object": "customer", "email": person.email},
                "status": "canceled",
            },
        ).id,
        recorded_event(
            "checkout.session.expired",
            {
                "id": f"cs_privacy{next(_seq)}",
                "object": "checkout.session",
                "customer": None,
                "subscription": None,
                "customer_details": {"email": person.email.upper(), "name": person.name},
            },
        ).id,
    ]
    lookalike_email = "bo" + person.email
    lookalike = Person(
        email=lookalike_email,
        name="Bo Lookalike",
        customer=make_customer(
            lookalike_email, name="Bo Lookalike", stripe_customer_id=own_id + "0"
        ),
    )
    lookalike.event_ids.append(
        stripe_event_row(lookalike.customer, lookalike_email, "Bo Lookalike").id
    )
    gift_giver = make_customer("giver@example.com", name="Gift Giver")
    others = [
        *lookalike.event_ids,
        recorded_event(
            "checkout.session.completed",
            {
                "id": f"cs_privacy{next(_seq)}",
                "object": "checkout.session",
                "customer": gift_giver.stripe_customer_id,
                "customer_details": {"email": "giver@example.com", "name": "Gift Giver"},
                "metadata": {"gift_for": person.email},
            },
        ).id,
    ]
    return StripeTrail(theirs=theirs, others=others, lookalike=lookalike)
