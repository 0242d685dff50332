"""What the shop holds about one person, found by their email address (read only).

A person is matched the way the shop matches them everywhere: the email normalised by
`shop.accounts.services.normalise_email` (trimmed, lower case) and compared in any case. They
may be a customer (an account with subscriptions, boxes, shipments, emails and sign-in links), a
commenter (comments carry their own email, in every status), or both.

`find_person` loads it all; `export_document` turns it into the JSON document an admin downloads
for them. Neither changes anything.

The recorded Stripe events held about a person are the ones whose object is theirs: their
Stripe customer, or an object (invoice, checkout session, subscription...) of that customer; an
object that names no customer counts when it is one of their subscriptions or carries their
email address as its own. An event about anyone else is never theirs, even when its payload
mentions their address or an id that starts like theirs (cus_test1 in cus_test12).

Subscriptions are described in the admin's words (`SubscriberState`, from shop.billing.queries:
"paused or skipping" for an active subscription skipping its next box); the caller gives the
labels (the admin pages' shared `STATE_LABELS`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Text, cast, func, or_, select
from sqlalchemy.orm import joinedload

from shop.accounts.addresses import address_of
from shop.accounts.models import Customer, SignInLink
from shop.accounts.queries import customer_by_email
from shop.accounts.services import normalise_email
from shop.billing.models import (
    BoxStatus,
    CalendarBox,
    CheckoutRecord,
    Invoice,
    Shipment,
    ShipmentStatus,
    Subscription,
    SubscriptionStatus,
    WebhookEvent,
)
from shop.billing.queries import SubscriberState, subscriber_state
from shop.billing.webhooks import event_subjects
from shop.catalog.models import Plan
from shop.comments.models import Comment
from shop.comments.settings import current_comment_settings
from shop.db import utcnow
from shop.extensions import db
from shop.mail.models import OutboxMessage, QueuedEmail

# A subscription in any other status can still charge or ship: its customer is not erased.
ENDED_STATUSES = frozenset({SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED})
# Erased customers keep their row with an address that can receive no mail (RFC 2606).
ERASED_DOMAIN = "erased.invalid"
# What each queued email is, as the customer saw it (subject and body are made when it is
# sent, from the shop's state then, and are not stored).
EMAIL_MESSAGES = {
    "sign_in_link": "Sign-in link",
    "subscription_confirmed": "Subscription confirmed",
    "payment_failed": "Payment didn't go through",
    "subscription_ended": "Subscription ended",
    "box_shipped": "Box on its way",
}

T = TypeVar("T")


@dataclass
class PersonRecords:
    """Everything the shop holds about one email address."""

    email: str
    customer: Customer | None = None
    comments: list[Comment] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    calendar_boxes: list[CalendarBox] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    checkouts: list[CheckoutRecord] = field(default_factory=list)
    emails: list[QueuedEmail] = field(default_factory=list)
    sign_in_links: list[SignInLink] = field(default_factory=list)
    outbox: list[OutboxMessage] = field(default_factory=list)
    stripe_events: list[WebhookEvent] = field(default_factory=list)
    # Events about other people whose payload still has this email in it (a gift's note, say):
    # not the person's to export, but erasing strikes the address out of them.
    stripe_event_mentions: list[WebhookEvent] = field(default_factory=list)
    on_comment_blocklist: bool = False
    # Each subscription's state as the admin pages name it, and the words for each state.
    subscription_states: dict[int, SubscriberState] = field(default_factory=dict)
    state_labels: Mapping[SubscriberState, str] = field(default_factory=dict)

    def state_label(self, subscription: Subscription) -> str:
        """The subscription's state in the admin's words (its Stripe status if unknown)."""
        state = self.subscription_states.get(subscription.id)
        if state is None:
            return subscription.status.value
        return self.state_labels.get(state, state.value)

    @property
    def holds_anything(self) -> bool:
        return self.customer is not None or bool(
            self.comments or self.outbox or self.stripe_events or self.stripe_event_mentions
        )

    @property
    def is_erased_customer(self) -> bool:
        return self.customer is not None and self.customer.email.endswith("@" + ERASED_DOMAIN)

    @property
    def stripe_customer_ids(self) -> list[str]:
        """Every Stripe customer of the person: the account's own first, then their
        subscriptions' (buying again while signed out makes another)."""
        ids = (
            [self.customer.stripe_customer_id]
            if self.customer and self.customer.stripe_customer_id
            else []
        )
        for subscription in self.subscriptions:
            if subscription.stripe_customer_id and subscription.stripe_customer_id not in ids:
                ids.append(subscription.stripe_customer_id)
        return ids

    @property
    def live_subscriptions(self) -> list[Subscription]:
        return [s for s in self.subscriptions if s.status not in ENDED_STATUSES]

    @property
    def boxes_to_ship(self) -> list[CalendarBox]:
        """Paid boxes not shipped yet (scheduled, or held for an admin's decision): erasing the
        address would leave them nowhere to go."""
        shipped = {s.calendar_box_id for s in self.shipments if s.status == ShipmentStatus.SHIPPED}
        return [
            box
            for box in self.calendar_boxes
            if box.status != BoxStatus.CANCELLED and box.id not in shipped
        ]

    @property
    def erase_blockers(self) -> list[str]:
        """Why the customer's record cannot be erased yet (empty: it can)."""
        reasons = []
        if live := self.live_subscriptions:
            listed = ", ".join(f"#{s.id} ({self.state_label(s)})" for s in live)
            reasons.append(
                f"{len(live)} subscription{'s have' if len(live) > 1 else ' has'} not ended: "
                f"{listed}. Cancel in Stripe and wait until it has ended."
            )
        if boxes := self.boxes_to_ship:
            reasons.append(
                f"{len(boxes)} paid box{'es are' if len(boxes) > 1 else ' is'} still to ship "
                f"({', '.join(sorted({b.ship_month for b in boxes}))}): ship or cancel "
                f"{'them' if len(boxes) > 1 else 'it'} first."
            )
        return reasons

    def counts(self) -> dict[str, int]:
        return {
            "comments": len(self.comments),
            "subscriptions": len(self.subscriptions),
            "invoices": len(self.invoices),
            "calendar_boxes": len(self.calendar_boxes),
            "shipments": len(self.shipments),
            "checkouts": len(self.checkouts),
            "emails": len(self.emails),
            "sign_in_links": len(self.sign_in_links),
            "outbox_messages": len(self.outbox),
            "stripe_events": len(self.stripe_events),
            "stripe_event_mentions": len(self.stripe_event_mentions),
        }


def person_email(raw: str) -> str:
    """The email as the shop matches it."""
    return normalise_email(raw)


def find_person(
    raw_email: str, *, state_labels: Mapping[SubscriberState, str] | None = None
) -> PersonRecords:
    """Load everything held about this email address (nothing is changed). `state_labels`
    names the subscription states in the page's words."""
    email = person_email(raw_email)
    records = PersonRecords(email=email, state_labels=state_labels or {})
    records.comments = _rows(
        Comment,
        func.lower(Comment.author_email) == email,
        Comment.created_at,
        joinedload(Comment.article),
    )
    records.outbox = _rows(
        OutboxMessage, func.lower(OutboxMessage.to_address) == email, OutboxMessage.created_at
    )
    records.on_comment_blocklist = _on_blocklist(email)
    customer = db.session.scalar(customer_by_email(email))
    if customer is not None:
        _load_customer(records, customer)
    subscription_ids = {
        s.stripe_subscription_id for s in records.subscriptions if s.stripe_subscription_id
    }
    candidates = db.session.scalars(
        stripe_events_mentioning([email, *records.stripe_customer_ids, *sorted(subscription_ids)])
    )
    customer_ids = set(records.stripe_customer_ids)
    pattern = email_pattern(email)
    for event in candidates:
        if event_concerns(event.payload, email, customer_ids, subscription_ids):
            records.stripe_events.append(event)
        elif mentions_email(event.payload, pattern):
            records.stripe_event_mentions.append(event)
    return records


def _rows(model: type[T], condition: ColumnElement[bool], first: Any, *options: Any) -> list[T]:
    """The rows of `model` meeting `condition`, ordered by `first` then id, `options` loaded."""
    query = select(model).where(condition).options(*options).order_by(first, model.id)  # type: ignore[attr-defined]
    return list(db.session.scalars(query))


def _load_customer(records: PersonRecords, customer: Customer) -> None:
    records.customer = customer
    rows = db.session.execute(
        select(Subscription, subscriber_state())
        .where(Subscription.customer_id == customer.id)
        .options(joinedload(Subscription.plan).joinedload(Plan.box))
        .order_by(Subscription.created_at, Subscription.id)
    ).all()
    records.subscriptions = [subscription for subscription, _ in rows]
    records.subscription_states = {
        subscription.id: SubscriberState(state) for subscription, state in rows
    }
    subscription_ids = [s.id for s in records.subscriptions]
    if subscription_ids:
        records.invoices = _rows(
            Invoice, Invoice.subscription_id.in_(subscription_ids), Invoice.created_at
        )
    records.calendar_boxes = _rows(
        CalendarBox,
        CalendarBox.customer_id == customer.id,
        CalendarBox.ship_month,
        joinedload(CalendarBox.box),
    )
    records.shipments = _rows(
        Shipment, Shipment.customer_id == customer.id, Shipment.ship_month, joinedload(Shipment.box)
    )
    records.checkouts = _rows(
        CheckoutRecord, CheckoutRecord.customer_id == customer.id, CheckoutRecord.created_at
    )
    records.emails = _rows(
        QueuedEmail, QueuedEmail.customer_id == customer.id, QueuedEmail.created_at
    )
    records.sign_in_links = _rows(
        SignInLink, SignInLink.customer_id == customer.id, SignInLink.created_at
    )


def stripe_events_mentioning(needles: list[str]) -> Select[tuple[WebhookEvent]]:
    """Recorded Stripe events whose payload's text contains any of `needles` anywhere: the
    candidates, which `event_concerns` then decides (text can name someone else, or be
    part of a longer id or address).

    A scan of every payload's text: slow on a big table, but only an admin's privacy request
    runs it.
    """
    # In any case: Stripe keeps an address as it was typed (PostgreSQL's LIKE minds case).
    payload = func.lower(cast(WebhookEvent.payload, Text))
    return (
        select(WebhookEvent)
        .where(or_(*(payload.contains(needle.lower(), autoescape=True) for needle in needles)))
        .order_by(WebhookEvent.received_at, WebhookEvent.id)
    )


# The keys under which a Stripe object carries its own person's email address.
_OWN_EMAIL_KEYS = ("email", "customer_email", "receipt_email")
_OWN_DETAILS_KEYS = ("customer_details", "billing_details")


def _id_of(value: object) -> str | None:
    """A Stripe id given as text or as an expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _own_emails(obj: dict[str, Any]) -> set[str]:
    found = [obj.get(key) for key in _OWN_EMAIL_KEYS]
    for key in _OWN_DETAILS_KEYS:
        details = obj.get(key)
        if isinstance(details, dict):
            found.append(details.get("email"))
    return {normalise_email(value) for value in found if isinstance(value, str)}


def email_pattern(email: str) -> re.Pattern[str]:
    """The address in text, in any case, as a whole: not the tail of a longer address
    (jo@example.com in bojo@example.com) nor the start of one (in jo@example.com.au)."""
    before = r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    after = r"(?![\w-]|\.[\w-])"
    return re.compile(before + re.escape(email) + after, re.IGNORECASE)


def mentions_email(value: object, pattern: re.Pattern[str]) -> bool:
    """Whether the address (its `email_pattern`) appears in any text of a payload."""
    if isinstance(value, dict):
        return any(mentions_email(item, pattern) for item in value.values())
    if isinstance(value, list):
        return any(mentions_email(item, pattern) for item in value)
    return isinstance(value, str) and pattern.search(value) is not None


def event_concerns(
    payload: object, email: str, customer_ids: set[str], subscription_ids: set[str]
) -> bool:
    """Whether a recorded Stripe event is about this person (see the module docstring): its
    object is one of their Stripe customers or belongs to one; or, naming no customer, it is
    one of their subscriptions, or (naming no subscription either) carries their email as its
    own."""
    data = payload.get("data") if isinstance(payload, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return False
    owner = (
        _id_of(obj.get("id")) if obj.get("object") == "customer" else _id_of(obj.get("customer"))
    )
    if owner is not None:
        return owner in customer_ids
    _, subscription = event_subjects(payload)
    if subscription is not None:
        return subscription in subscription_ids
    return email in _own_emails(obj)


def _on_blocklist(email: str) -> bool:
    entries = {entry.lower() for entry in current_comment_settings().blocklist_emails}
    return email in entries


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _address(obj: object, prefix: str) -> dict[str, str]:
    return address_of(obj, prefix).as_dict()


def export_document(records: PersonRecords) -> dict[str, Any]:
    """Everything held about the person, as a JSON-ready document."""
    customer = records.customer
    document: dict[str, Any] = {
        "exported_at": utcnow().isoformat(),
        "email": records.email,
        "notes": [
            "Emails are composed when they are sent, from the shop's state then: their subject "
            "and body are not stored; 'message' says which email it was.",
            "Sign-in links are stored as a hash only: their times are listed, never a link.",
            "Payments are handled by Stripe, which holds its own record of this person "
            "(see stripe_customer_ids).",
            "stripe_events are the events Stripe sent the shop about this person's customer "
            "record and subscriptions, each with its payload as Stripe sent it.",
        ],
        "on_comment_blocklist": records.on_comment_blocklist,
        "customer": None,
        "addresses": [],
        "stripe_customer_ids": records.stripe_customer_ids,
        "subscriptions": [],
        "invoices": [],
        "calendar_boxes": [],
        "shipments": [],
        "checkouts": [],
        "emails": [],
        "sign_in_links": [],
        "development_outbox": [
            {
                "to": message.to_address,
                "subject": message.subject,
                "text_body": message.text_body,
                "created_at": _when(message.created_at),
            }
            for message in records.outbox
        ],
        "comments": [
            {
                "id": comment.id,
                "article": comment.article.title,
                "article_slug": comment.article.slug,
                "reply_to_comment_id": comment.parent_id,
                "status": comment.status.value,
                "created_at": _when(comment.created_at),
                "author_name": comment.author_name,
                "author_email": comment.author_email,
                "author_url": comment.author_url,
                "body": comment.body,
                "ip_address": comment.ip_address,
                "user_agent": comment.user_agent,
            }
            for comment in records.comments
        ],
        "stripe_events": [
            {
                "id": event.stripe_event_id,
                "type": event.type,
                "received_at": _when(event.received_at),
                "payload": event.payload,
            }
            for event in records.stripe_events
        ],
    }
    if customer is None:
        return document
    document["customer"] = {
        "id": customer.id,
        "email": customer.email,
        "name": customer.name,
        "stripe_customer_id": customer.stripe_customer_id,
        "created_at": _when(customer.created_at),
        "last_sign_in_at": _when(customer.last_sign_in_at),
        "shipping_address": _address(customer, "shipping_"),
    }
    addresses = [_address(customer, "shipping_")]
    addresses += [_address(s, "ship_to_") for s in records.subscriptions]
    addresses += [_address(s, "ship_to_") for s in records.shipments]
    document["addresses"] = [
        dict(entry)
        for entry in dict.fromkeys(tuple(a.items()) for a in addresses if any(a.values()))
    ]
    document["subscriptions"] = [
        {
            "id": s.id,
            "stripe_subscription_id": s.stripe_subscription_id,
            "stripe_customer_id": s.stripe_customer_id,
            "box": s.plan.box.name,
            "term_months": s.plan.term_months,
            "price_cents": s.plan.price_cents,
            "currency": s.plan.currency,
            "status": s.status.value,
            "created_at": _when(s.created_at),
            "current_period_start": _when(s.current_period_start),
            "current_period_end": _when(s.current_period_end),
            "cancel_at_period_end": s.cancel_at_period_end,
            "canceled_at": _when(s.canceled_at),
            "ended_at": _when(s.ended_at),
            "skipping_next_box": s.is_skipping,
            "ship_to": _address(s, "ship_to_"),
        }
        for s in records.subscriptions
    ]
    document["invoices"] = [
        {
            "id": i.id,
            "stripe_invoice_id": i.stripe_invoice_id,
            "subscription_id": i.subscription_id,
            "status": i.status,
            "amount_due_cents": i.amount_due_cents,
            "amount_paid_cents": i.amount_paid_cents,
            "currency": i.currency,
            "period_start": _when(i.period_start),
            "period_end": _when(i.period_end),
            "paid_at": _when(i.paid_at),
        }
        for i in records.invoices
    ]
    document["calendar_boxes"] = [
        {
            "id": b.id,
            "subscription_id": b.subscription_id,
            "box": b.box.name,
            "ship_month": b.ship_month,
            "box_of_term": f"{b.sequence} of {b.term_months}",
            "status": b.status.value,
        }
        for b in records.calendar_boxes
    ]
    document["shipments"] = [
        {
            "id": s.id,
            "subscription_id": s.subscription_id,
            "box": s.box.name,
            "ship_month": s.ship_month,
            "status": s.status.value,
            "carrier": s.carrier,
            "tracking_number": s.tracking_number,
            "packed_at": _when(s.packed_at),
            "shipped_at": _when(s.shipped_at),
            "ship_to": _address(s, "ship_to_"),
        }
        for s in records.shipments
    ]
    document["checkouts"] = [
        {
            "id": c.id,
            "plan_id": c.plan_id,
            "created_at": _when(c.created_at),
            "completed_at": _when(c.completed_at),
        }
        for c in records.checkouts
    ]
    document["emails"] = [
        {
            "id": e.id,
            "message": EMAIL_MESSAGES.get(e.template, e.template),
            "template": e.template,
            "to": customer.email,
            "status": e.status.value,
            "created_at": _when(e.created_at),
            "sent_at": _when(e.sent_at),
        }
        for e in records.emails
    ]
    document["sign_in_links"] = [
        {
            "created_at": _when(link.created_at),
            "expires_at": _when(link.expires_at),
            "used_at": _when(link.used_at),
        }
        for link in records.sign_in_links
    ]
    return document
