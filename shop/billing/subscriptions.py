"""Subscriptions: the shop's copy of each kept true from Stripe, and what a customer changes.

Stripe is the source of truth for money. A subscription is re-fetched from Stripe under a
per-subscription lock before it is written, so webhooks that arrive late, twice or out of order
leave the same, correct result.

Skipping a box: a customer on a monthly plan may skip next month's box. The shop sets Stripe's
`pause_collection` (behaviour `void`) until a day after the next renewal: that renewal's invoice
is voided, so nothing is charged and, unpaid, it grants no box; the renewal after it is charged
as usual. The skip can be undone until the renewal (the last moment before that month's box
would be paid for, which is always on or before its cut-off). Prepaid terms cannot skip: their
months are already paid for, and each one ships.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from shop.accounts.addresses import PostalAddress, store_address
from shop.accounts.models import Customer
from shop.billing.calendar import hold_unshipped_boxes
from shop.billing.customers import customer_for_stripe
from shop.billing.gateway import NotFoundAtProvider, PaymentProviderError, gateway
from shop.billing.models import Subscription, SubscriptionStatus
from shop.billing.notifications import AfterCommit
from shop.billing.stripe_data import UnknownStripeObject, id_of, timestamp
from shop.catalog.models import Plan
from shop.catalog.queries import plan_by_lookup_key, plan_by_stripe_price
from shop.db import advisory_lock, utcnow
from shop.extensions import db

logger = logging.getLogger(__name__)

# The skip lasts until a day after the skipped renewal, so the renewal after it is charged.
SKIP_RESUME_MARGIN = timedelta(days=1)
SKIPPABLE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)


class SubscriptionChangeRefused(Exception):
    """A customer's change cannot be made; the message says why, for the customer."""


def lock_subscription(stripe_subscription_id: str) -> None:
    """Serialise work on one subscription across workers for the transaction."""
    advisory_lock(db.session, f"subscription:{stripe_subscription_id}")


def plan_for_price(price: dict[str, Any]) -> Plan:
    """The shop's plan a Stripe price sells; raises UnknownStripeObject for anyone else's."""
    price_id = price.get("id") or ""
    plan = db.session.scalar(plan_by_stripe_price(price_id))
    if plan is not None:
        return plan
    if "lookup_key" not in price and "metadata" not in price and price_id:
        price = gateway().retrieve_price(price_id)  # only an id: look at the price itself
    # A price replaced by sync-stripe has lost its lookup key but keeps the plan's in metadata;
    # subscribers on it stay on that plan.
    lookup_key = price.get("lookup_key") or (price.get("metadata") or {}).get(
        "shop_plan_lookup_key"
    )
    plan = db.session.scalar(plan_by_lookup_key(lookup_key)) if lookup_key else None
    if plan is None:
        raise UnknownStripeObject(f"price {price_id} is not one of the shop's plans")
    return plan


def sync_subscription(
    stripe_subscription_id: str,
    after: AfterCommit,
    customer: Customer | None = None,
    ship_to: PostalAddress | None = None,
) -> Subscription:
    """Fetch a subscription from Stripe and make the shop's copy match it. Does not commit.

    Takes the subscription's lock first, so concurrent deliveries apply Stripe's state one after
    another, each fresher than the last. Creates the subscription (and its customer) when the
    shop has not seen it yet. Raises UnknownStripeObject when it is not the shop's (or Stripe
    no longer has it).
    """
    lock_subscription(stripe_subscription_id)
    existing = db.session.scalar(
        select(Subscription)
        .where(Subscription.stripe_subscription_id == stripe_subscription_id)
        .with_for_update()
    )
    try:
        data = gateway().retrieve_subscription(stripe_subscription_id)
    except NotFoundAtProvider as exc:
        raise UnknownStripeObject(f"Stripe has no subscription {stripe_subscription_id}") from exc
    return apply_subscription(data, existing, after, customer, ship_to)


def apply_subscription(
    data: dict[str, Any],
    subscription: Subscription | None,
    after: AfterCommit,
    customer: Customer | None = None,
    ship_to: PostalAddress | None = None,
) -> Subscription:
    """Write Stripe's state of a subscription into the shop's copy (created if None)."""
    items = (data.get("items") or {}).get("data") or []
    if not items:
        raise UnknownStripeObject(f"subscription {data['id']} has no items")
    item = items[0]
    plan = plan_for_price(item.get("price") or {})
    stripe_customer_id = id_of(data.get("customer")) or ""
    if subscription is None:
        found = customer_for_stripe(stripe_customer_id) if customer is None else None
        if found is not None:
            customer, ship_to = found.customer, ship_to or found.ship_to
        assert customer is not None
        subscription = Subscription(
            stripe_subscription_id=data["id"],
            stripe_customer_id=stripe_customer_id,
            customer=customer,
            plan=plan,
            status=SubscriptionStatus(data["status"]),
        )
        db.session.add(subscription)
    if ship_to is not None and not subscription.ship_to_line1:
        store_address(subscription, "ship_to_", ship_to)
    previous_status = subscription.status
    subscription.stripe_customer_id = stripe_customer_id or subscription.stripe_customer_id
    subscription.plan = plan
    subscription.status = SubscriptionStatus(data["status"])
    subscription.current_period_start = timestamp(item.get("current_period_start"))
    subscription.current_period_end = timestamp(item.get("current_period_end"))
    subscription.cancel_at_period_end = bool(data.get("cancel_at_period_end"))
    subscription.cancel_at = timestamp(data.get("cancel_at"))
    subscription.canceled_at = timestamp(data.get("canceled_at"))
    subscription.ended_at = timestamp(data.get("ended_at"))
    pause = data.get("pause_collection") or {}
    subscription.pause_behavior = pause.get("behavior")
    subscription.pause_resumes_at = timestamp(pause.get("resumes_at"))
    subscription.stripe_state_at = utcnow()
    db.session.flush()
    if subscription.status == SubscriptionStatus.CANCELED:
        hold_unshipped_boxes(subscription)
        if previous_status not in (None, SubscriptionStatus.CANCELED):
            after.email(
                subscription.customer,
                "subscription_ended",
                subscription.stripe_subscription_id,
                subscription_id=subscription.id,
            )
    return subscription


# -- what a customer changes from the account ------------------------------------------------


def subscription_of(customer: Customer, subscription_id: int) -> Subscription | None:
    """One of the customer's own subscriptions (None for anyone else's)."""
    return db.session.scalar(
        select(Subscription).where(
            Subscription.id == subscription_id, Subscription.customer_id == customer.id
        )
    )


def skip_refusal(subscription: Subscription, now: datetime) -> str | None:
    """Why this subscription cannot skip its next box now, or None when it can."""
    if subscription.plan.term_months != 1:
        return (
            f"Your {subscription.plan.term_months}-month plan is paid in advance, and every "
            "month of it ships a box, so there is no month to skip."
        )
    if subscription.status not in SKIPPABLE or subscription.cancel_at_period_end:
        return "Only a running subscription that isn't cancelling can skip a box."
    end = subscription.current_period_end
    if end is None or end <= now:
        return "Your next payment is being taken right now; try again in a few minutes."
    resumes = subscription.pause_resumes_at
    if subscription.is_skipping and (resumes is None or resumes > end):
        return "You're already skipping your next box."
    return None


def skip_next_box(customer: Customer, subscription_id: int) -> Subscription:
    """Skip the box of a monthly subscription's next renewal (no charge). Commits.

    Raises SubscriptionChangeRefused (prepaid terms, not running, too late) and
    PaymentProviderError when Stripe fails — then nothing changed.
    """
    subscription = _own(customer, subscription_id)
    refusal = skip_refusal(subscription, utcnow())
    if refusal:
        raise SubscriptionChangeRefused(refusal)
    assert subscription.current_period_end is not None
    resumes_at = subscription.current_period_end + SKIP_RESUME_MARGIN
    data = gateway().update_subscription(
        subscription.stripe_subscription_id,
        {"pause_collection": {"behavior": "void", "resumes_at": int(resumes_at.timestamp())}},
    )
    return _apply_and_commit(data, subscription)


def undo_skip(customer: Customer, subscription_id: int) -> Subscription:
    """Take a skip back before the renewal it skips. Commits; raises like `skip_next_box`."""
    subscription = _own(customer, subscription_id)
    if not subscription.is_skipping:
        raise SubscriptionChangeRefused("This subscription isn't skipping a box.")
    end = subscription.current_period_end
    if end is None or end <= utcnow():
        raise SubscriptionChangeRefused(
            "That box has already been skipped: its payment date has passed."
        )
    data = gateway().update_subscription(
        subscription.stripe_subscription_id, {"pause_collection": ""}
    )
    return _apply_and_commit(data, subscription)


def _own(customer: Customer, subscription_id: int) -> Subscription:
    subscription = subscription_of(customer, subscription_id)
    if subscription is None:
        raise SubscriptionChangeRefused("We couldn't find that subscription on your account.")
    return subscription


def _apply_and_commit(data: dict[str, Any], subscription: Subscription) -> Subscription:
    lock_subscription(subscription.stripe_subscription_id)
    after = AfterCommit()
    apply_subscription(data, subscription, after)
    db.session.commit()
    after.run()
    return subscription


def open_billing_portal(customer: Customer, return_url: str, subscription_id: int | None) -> str:
    """The URL of a Stripe billing portal for one of the customer's subscriptions (or, without
    one, for their account's own Stripe customer).

    Each subscription is managed through the Stripe customer that pays for it, so a second
    purchase made while signed out can be cancelled too. Raises PaymentProviderError when Stripe
    fails or there is nothing to manage.
    """
    stripe_customer_id = customer.stripe_customer_id
    if subscription_id is not None:
        subscription = subscription_of(customer, subscription_id)
        if subscription is None:
            raise PaymentProviderError("We couldn't find that subscription on your account.")
        stripe_customer_id = subscription.stripe_customer_id or stripe_customer_id
    if not stripe_customer_id:
        raise PaymentProviderError("There is no billing account for you yet.")
    return gateway().create_billing_portal_session(stripe_customer_id, return_url)["url"]
