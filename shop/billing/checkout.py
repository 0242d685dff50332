"""Checkout: the Subscribe button starts a Stripe Checkout Session; the success page and the
checkout.session.completed webhook fulfil it through one path, whichever comes first.

A press of Subscribe is one session (an idempotency key from the button's nonce), so a double
click cannot create two. Fulfilling links the buyer to their one account (see `customers`), the
subscription to the address they typed, and sends one confirmation email, after the commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop.accounts.models import Customer
from shop.billing.calendar import ship_months_of
from shop.billing.customers import customer_for_stripe
from shop.billing.gateway import gateway
from shop.billing.invoices import apply_paid_invoice, invoice_has_boxes
from shop.billing.models import CheckoutRecord, Subscription
from shop.billing.notifications import AfterCommit
from shop.billing.stripe_data import id_of
from shop.billing.subscriptions import lock_subscription, sync_subscription
from shop.catalog.models import Plan
from shop.catalog.queries import purchasable_plan
from shop.db import lock_timeout, utcnow
from shop.extensions import db
from shop.urls import absolute_url


class CheckoutError(Exception):
    """A checkout could not be started; the message is for the customer."""


def start_checkout(plan_id: int, customer: Customer | None, attempt_key: str) -> str:
    """Create a Stripe Checkout Session for a plan and return its URL. Commits.

    `attempt_key` identifies one press of a Subscribe button as rendered (a nonce in the form),
    so a double click, or "Try again" after a timeout, returns the same session, while a later
    visit to the box page starts a new one. Raises CheckoutError for an unknown or unsellable
    plan, PaymentProviderError when Stripe fails — and then nothing is stored.
    """
    plan = db.session.scalar(purchasable_plan(plan_id))
    if plan is None:
        raise CheckoutError("That plan isn't available any more. Please choose another.")
    config = current_app.config
    metadata = {"shop_plan_id": str(plan.id), "shop_plan_lookup_key": plan.lookup_key}
    params: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [{"price": plan.stripe_price_id, "quantity": 1}],
        "shipping_address_collection": {"allowed_countries": list(config["SHIPPING_COUNTRIES"])},
        "allow_promotion_codes": True,
        "success_url": absolute_url("billing.checkout_success")
        + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": absolute_url("catalog.box", slug=plan.box.slug),
    }
    if customer is not None:
        metadata["shop_customer_id"] = str(customer.id)
        params["client_reference_id"] = f"customer-{customer.id}"
        if customer.stripe_customer_id:
            params["customer"] = customer.stripe_customer_id
            # Otherwise Stripe keeps the old address on the customer, and renewals' invoices
            # (and so their boxes) would still go there.
            params["customer_update"] = {"shipping": "auto", "name": "auto"}
        else:
            params["customer_email"] = customer.email
    else:
        params["client_reference_id"] = f"plan-{plan.id}"
    params["metadata"] = metadata
    params["subscription_data"] = {"metadata": metadata}

    key_source = f"{attempt_key}:{plan.id}:{customer.id if customer else '-'}"
    idempotency_key = "checkout-" + hashlib.sha256(key_source.encode()).hexdigest()[:40]
    session = gateway().create_checkout_session(params, idempotency_key=idempotency_key)
    if _already_started(session["id"]):
        # A replay: this press was seen before. If its session has since been paid (or has
        # expired) the visitor came back to an old page: start afresh, not at a finished one.
        live = gateway().retrieve_checkout_session(session["id"])
        if live.get("status") != "open":
            session = gateway().create_checkout_session(
                params, idempotency_key=f"{idempotency_key}-{secrets.token_hex(8)}"
            )

    if not _already_started(session["id"]):
        db.session.add(
            CheckoutRecord(
                stripe_checkout_session_id=session["id"],
                plan_id=plan.id,
                customer_id=customer.id if customer else None,
            )
        )
        try:
            db.session.commit()
        except IntegrityError:  # the other click of a double click recorded it first
            db.session.rollback()
    return session["url"]


def _already_started(stripe_checkout_session_id: str) -> bool:
    return (
        db.session.scalar(
            select(CheckoutRecord.id).where(
                CheckoutRecord.stripe_checkout_session_id == stripe_checkout_session_id
            )
        )
        is not None
    )


@dataclass(frozen=True)
class CheckoutSummary:
    """What the success page shows."""

    session: dict[str, Any]
    subscription: Subscription | None
    plan: Plan | None
    box_months: list[str]  # the ship months of the boxes paid for so far, YYYY-MM


def complete_checkout(session_id: str) -> CheckoutSummary:
    """Fetch a Checkout Session and fulfil it if it is complete (the success page). Commits.

    The same code path as the checkout.session.completed webhook: whichever comes first does
    the work, the other changes nothing. Raises NotFoundAtProvider for an unknown session, and
    LockTimeout when a job holds the subscription longer than PAGE_LOCK_TIMEOUT_SECONDS.
    """
    session = gateway().retrieve_checkout_session(session_id)
    lock_timeout(db.session, current_app.config["PAGE_LOCK_TIMEOUT_SECONDS"])
    after = AfterCommit()
    subscription = fulfil_checkout_session(session, after)
    db.session.commit()
    after.run()
    plan = subscription.plan if subscription else _plan_of_session(session)
    months = ship_months_of(subscription) if subscription else []
    return CheckoutSummary(session=session, subscription=subscription, plan=plan, box_months=months)


def _plan_of_session(session: dict[str, Any]) -> Plan | None:
    plan_id = (session.get("metadata") or {}).get("shop_plan_id")
    return db.session.get(Plan, int(plan_id)) if plan_id and plan_id.isdigit() else None


def fulfil_checkout_session(session: dict[str, Any], after: AfterCommit) -> Subscription | None:
    """Link the customer, their shipping address and the subscription of a paid session.

    Does not commit (the caller does). Returns None while the session is not complete.
    """
    if session.get("mode") != "subscription" or session.get("status") != "complete":
        return None
    subscription_id = id_of(session.get("subscription"))
    customer_id = id_of(session.get("customer"))
    if not subscription_id or not customer_id:
        return None
    # Before the customer, whom the subscription's other events create too.
    lock_subscription(subscription_id)
    details = session.get("customer_details") or {}
    shipping = (session.get("collected_information") or {}).get("shipping_details")
    match = customer_for_stripe(
        customer_id, email=details.get("email"), name=details.get("name"), shipping=shipping
    )
    customer = match.customer
    subscription = sync_subscription(
        subscription_id, after, customer=customer, ship_to=match.ship_to
    )
    # The first invoice too, so the success page and the confirmation show the calendar
    # whether or not invoice.paid has arrived yet; once its boxes exist, Stripe is not asked.
    first_invoice = id_of(session.get("invoice"))
    if first_invoice and not invoice_has_boxes(first_invoice):
        apply_paid_invoice(gateway().retrieve_invoice(first_invoice), subscription)
    record = db.session.scalar(
        select(CheckoutRecord).where(CheckoutRecord.stripe_checkout_session_id == session["id"])
    )
    if record is not None and record.completed_at is None:
        record.completed_at = utcnow()
        record.customer_id = customer.id
    if subscription.confirmation_sent_at is None:
        subscription.confirmation_sent_at = utcnow()
        after.email(
            customer,
            "subscription_confirmed",
            subscription.stripe_subscription_id,
            subscription_id=subscription.id,
        )
    return subscription
