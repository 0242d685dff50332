"""Emails about billing: queued with the change they tell about, composed when they are sent.

The rule: **an email is true when it is sent.** Events can arrive late (after an outage, or a
backlog in the queue), so each message is checked against the shop's state at sending time, and
dropped when it no longer holds:

- "You're subscribed" only while the subscription is live (not ended, not expired unpaid);
- "Your payment didn't go through" only while that invoice is still unpaid and the subscription
  has not ended — a payment that failed and then recovered gets no stale warning;
- "Your subscription has ended" only once it has;
- "Your box is on its way" only while the shipment is still marked shipped.

Each is asked for once per thing it is about (a `dedupe_key`), so a webhook applied twice sends
nothing twice. See `shop.mail.queue` for sending, retries and the sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shop.accounts.models import Customer
from shop.billing.models import Invoice, Shipment, ShipmentStatus, Subscription, SubscriptionStatus
from shop.dates import month_label
from shop.extensions import db
from shop.mail.models import QueuedEmail
from shop.mail.queue import Composed, composer, enqueue_emails, queue_email
from shop.urls import absolute_url

LIVE = {
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.PAUSED,
}


@dataclass
class AfterCommit:
    """Emails queued in this transaction, handed to the job queue once it has committed."""

    emails: list[QueuedEmail] = field(default_factory=list)

    def email(self, customer: Customer, template: str, key: str, **ids: Any) -> bool:
        """Queue `template` to `customer` in the current transaction, once per `key`. True when
        it is queued now (False: it was queued or sent before)."""
        email, queued_now = queue_email(customer.id, template, f"{template}:{key}", **ids)
        self.emails.append(email)
        return queued_now

    def run(self) -> None:
        enqueue_emails(self.emails)


def _customer_and_subscription(
    email: QueuedEmail,
) -> tuple[Customer, Subscription] | None:
    customer = db.session.get(Customer, email.customer_id)
    subscription = db.session.get(Subscription, email.context.get("subscription_id", 0))
    if customer is None or subscription is None:
        return None
    return customer, subscription


def _composed(customer: Customer, **context: Any) -> Composed:
    return Composed(
        to=customer.email,
        context={"customer": customer, "account_url": absolute_url("accounts.account"), **context},
    )


@composer("subscription_confirmed")
def compose_subscription_confirmed(email: QueuedEmail) -> Composed | None:
    from shop.billing.calendar import ship_months_of

    found = _customer_and_subscription(email)
    if found is None or found[1].status not in LIVE:
        return None
    customer, subscription = found
    months = [month_label(month) for month in ship_months_of(subscription)]
    return _composed(customer, subscription=subscription, box_months=months)


@composer("payment_failed")
def compose_payment_failed(email: QueuedEmail) -> Composed | None:
    found = _customer_and_subscription(email)
    invoice = db.session.get(Invoice, email.context.get("invoice_id", 0))
    if found is None or invoice is None or invoice.status != "open":
        return None
    customer, subscription = found
    if subscription.status not in LIVE:
        return None
    return _composed(customer, subscription=subscription)


@composer("subscription_ended")
def compose_subscription_ended(email: QueuedEmail) -> Composed | None:
    found = _customer_and_subscription(email)
    if found is None or found[1].status in LIVE:
        return None
    customer, subscription = found
    return _composed(customer, subscription=subscription)


@composer("box_shipped")
def compose_box_shipped(email: QueuedEmail) -> Composed | None:
    from shop.billing.shipping import tracking_url

    customer = db.session.get(Customer, email.customer_id)
    shipment = db.session.get(Shipment, email.context.get("shipment_id", 0))
    if customer is None or shipment is None or shipment.status is not ShipmentStatus.SHIPPED:
        return None
    return _composed(
        customer,
        shipment=shipment,
        box_name=shipment.box.name,
        tracking_url=tracking_url(shipment.carrier, shipment.tracking_number),
    )
