"""Billing operations: starting checkouts, fulfilling them, and keeping subscriptions true.

Stripe is the source of truth. Every change here is applied from Stripe's own data — a
subscription is re-fetched from Stripe under a per-subscription lock before it is written —
so webhooks that arrive late, twice or out of order leave the same, correct result. Each
public function commits once; emails go out only after the commit, and a failed email never
undoes the change.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from shop.accounts.models import Customer
from shop.billing.gateway import PaymentProviderError, gateway
from shop.billing.models import (
    CheckoutRecord,
    Invoice,
    Shipment,
    ShipmentStatus,
    Subscription,
    SubscriptionStatus,
)
from shop.catalog.models import Plan
from shop.catalog.queries import plan_by_lookup_key, plan_by_stripe_price, purchasable_plan
from shop.db import utcnow
from shop.extensions import db
from shop.urls import absolute_url

logger = logging.getLogger(__name__)


class CheckoutError(Exception):
    """A checkout could not be started; the message is for the customer."""


class UnknownStripeObject(Exception):
    """Stripe sent something the shop cannot map to its records (e.g. a price it never sold)."""


@dataclass
class AfterCommit:
    """Work to do once the transaction has committed (emails), never before."""

    actions: list[Callable[[], Any]] = field(default_factory=list)

    def add(self, action: Callable[[], Any]) -> None:
        self.actions.append(action)

    def run(self) -> None:
        for action in self.actions:
            try:
                action()
            except Exception:  # a notification must never undo a committed change
                logger.exception("after-commit action failed")


def timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def _id_of(value: Any) -> str | None:
    """Stripe fields hold an id, or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return value.get("id")


# -- checkout ------------------------------------------------------------------------------------


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


def complete_checkout(session_id: str) -> CheckoutSummary:
    """Fetch a Checkout Session and fulfil it if it is complete (the success page). Commits.

    The same code path as the checkout.session.completed webhook: whichever comes first does
    the work, the other changes nothing. Raises NotFoundAtProvider for an unknown session.
    """
    session = gateway().retrieve_checkout_session(session_id)
    after = AfterCommit()
    subscription = fulfil_checkout_session(session, after)
    db.session.commit()
    after.run()
    plan = subscription.plan if subscription else _plan_of_session(session)
    return CheckoutSummary(session=session, subscription=subscription, plan=plan)


def _plan_of_session(session: dict[str, Any]) -> Plan | None:
    plan_id = (session.get("metadata") or {}).get("shop_plan_id")
    return db.session.get(Plan, int(plan_id)) if plan_id and plan_id.isdigit() else None


def fulfil_checkout_session(session: dict[str, Any], after: AfterCommit) -> Subscription | None:
    """Link the customer, their shipping address and the subscription of a paid session.

    Does not commit (the caller does). Returns None while the session is not complete.
    """
    if session.get("mode") != "subscription" or session.get("status") != "complete":
        return None
    subscription_id = _id_of(session.get("subscription"))
    customer_id = _id_of(session.get("customer"))
    if not subscription_id or not customer_id:
        return None
    _lock(subscription_id)  # before the customer, whom the subscription's other events create too
    details = session.get("customer_details") or {}
    shipping = (session.get("collected_information") or {}).get("shipping_details")
    customer = _upsert_customer(
        customer_id, email=details.get("email"), name=details.get("name"), shipping=shipping
    )
    subscription = sync_subscription(subscription_id, after, customer=customer)
    record = db.session.scalar(
        select(CheckoutRecord).where(CheckoutRecord.stripe_checkout_session_id == session["id"])
    )
    if record is not None and record.completed_at is None:
        record.completed_at = utcnow()
        record.customer_id = customer.id
    if subscription.confirmation_sent_at is None:
        subscription.confirmation_sent_at = utcnow()
        after.add(_email(customer.email, "subscription_confirmed", customer, subscription))
    return subscription


# -- customers -----------------------------------------------------------------------------------


def _apply_shipping(customer: Customer, shipping: dict[str, Any] | None) -> None:
    if not shipping:
        return
    address = shipping.get("address") or {}
    customer.shipping_name = shipping.get("name") or ""
    customer.shipping_line1 = address.get("line1") or ""
    customer.shipping_line2 = address.get("line2") or ""
    customer.shipping_city = address.get("city") or ""
    customer.shipping_state = address.get("state") or ""
    customer.shipping_postal_code = address.get("postal_code") or ""
    customer.shipping_country = address.get("country") or ""


def _upsert_customer(
    stripe_customer_id: str,
    *,
    email: str | None = None,
    name: str | None = None,
    shipping: dict[str, Any] | None = None,
) -> Customer:
    """The local customer for a Stripe customer, created (from Stripe if need be) or updated."""
    customer = db.session.scalar(
        select(Customer).where(Customer.stripe_customer_id == stripe_customer_id).with_for_update()
    )
    if customer is None and not email:
        remote = gateway().retrieve_customer(stripe_customer_id)
        email, name = remote.get("email"), name or remote.get("name")
        shipping = shipping or remote.get("shipping")
    if customer is None:
        if not email:
            raise UnknownStripeObject(f"Stripe customer {stripe_customer_id} has no email")
        email = email.strip().lower()
        customer = db.session.scalar(
            select(Customer).where(func.lower(Customer.email) == email).with_for_update()
        )
        if customer is None:
            customer = Customer(email=email, name=name or "")
            db.session.add(customer)
        if customer.stripe_customer_id is None:
            customer.stripe_customer_id = stripe_customer_id
    if customer.stripe_customer_id != stripe_customer_id:
        # Another Stripe customer with this email, e.g. a checkout while signed out: its
        # subscription is theirs to see, but an unverified checkout never rewrites the
        # account's name or address (each invoice keeps its own shipping snapshot).
        logger.info("customer %s: a second Stripe customer used their email", customer.id)
        db.session.flush()
        return customer
    if name and not customer.name:
        customer.name = name
    _apply_shipping(customer, shipping)
    db.session.flush()
    return customer


def apply_customer_update(stripe_customer_id: str) -> Customer | None:
    """customer.updated: keep a known customer's email, name and address as Stripe has them now.

    The customer is locked and then fetched from Stripe, so a late, older snapshot never
    overwrites a newer address. Does not commit.
    """
    customer = db.session.scalar(
        select(Customer).where(Customer.stripe_customer_id == stripe_customer_id).with_for_update()
    )
    if customer is None:
        return None
    data = gateway().retrieve_customer(stripe_customer_id)
    email = (data.get("email") or "").strip().lower()
    if email and email != customer.email:
        taken = db.session.scalar(select(Customer.id).where(Customer.email == email))
        if taken is None:
            customer.email = email
        else:
            logger.warning("customer %s: new email belongs to another customer; kept", customer.id)
    if data.get("name"):
        customer.name = data["name"]
    _apply_shipping(customer, data.get("shipping"))
    return customer


# -- subscriptions -------------------------------------------------------------------------------


def _lock(stripe_subscription_id: str) -> None:
    """Serialise work on one subscription across workers (PostgreSQL; SQLite has one writer)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"subscription:{stripe_subscription_id}"},
        )


def _plan_for(item: dict[str, Any]) -> Plan:
    price = item.get("price") or {}
    plan = db.session.scalar(plan_by_stripe_price(price.get("id", "")))
    # A price replaced by sync-stripe has lost its lookup key but keeps the plan's in metadata;
    # subscribers on it stay on that plan.
    lookup_key = price.get("lookup_key") or (price.get("metadata") or {}).get(
        "shop_plan_lookup_key"
    )
    if plan is None and lookup_key:
        plan = db.session.scalar(plan_by_lookup_key(lookup_key))
    if plan is None:
        raise UnknownStripeObject(f"price {price.get('id')} is not one of the shop's plans")
    return plan


def sync_subscription(
    stripe_subscription_id: str, after: AfterCommit, customer: Customer | None = None
) -> Subscription:
    """Fetch a subscription from Stripe and make the shop's copy match it. Does not commit.

    Takes the subscription's lock first, so concurrent deliveries apply Stripe's state one
    after another, each fresher than the last. Creates the subscription (and its customer)
    when the shop has not seen it yet.
    """
    _lock(stripe_subscription_id)
    existing = db.session.scalar(
        select(Subscription)
        .where(Subscription.stripe_subscription_id == stripe_subscription_id)
        .with_for_update()
    )
    data = gateway().retrieve_subscription(stripe_subscription_id)
    return _apply_subscription(data, existing, after, customer)


def _apply_subscription(
    data: dict[str, Any],
    subscription: Subscription | None,
    after: AfterCommit,
    customer: Customer | None = None,
) -> Subscription:
    items = (data.get("items") or {}).get("data") or []
    if not items:
        raise UnknownStripeObject(f"subscription {data['id']} has no items")
    item = items[0]
    plan = _plan_for(item)
    if subscription is None:
        customer = customer or _upsert_customer(_id_of(data["customer"]) or "")
        subscription = Subscription(
            stripe_subscription_id=data["id"],
            customer=customer,
            plan=plan,
            status=SubscriptionStatus(data["status"]),
        )
        db.session.add(subscription)
    previous_status = subscription.status
    subscription.plan = plan
    subscription.status = SubscriptionStatus(data["status"])
    subscription.current_period_start = timestamp(item.get("current_period_start"))
    subscription.current_period_end = timestamp(item.get("current_period_end"))
    subscription.cancel_at_period_end = bool(data.get("cancel_at_period_end"))
    subscription.cancel_at = timestamp(data.get("cancel_at"))
    subscription.canceled_at = timestamp(data.get("canceled_at"))
    subscription.ended_at = timestamp(data.get("ended_at"))
    subscription.stripe_state_at = utcnow()
    db.session.flush()
    if (
        subscription.status == SubscriptionStatus.CANCELED
        and previous_status != SubscriptionStatus.CANCELED
        and previous_status is not None
    ):
        after.add(
            _email(
                subscription.customer.email,
                "subscription_ended",
                subscription.customer,
                subscription,
            )
        )
    return subscription


# -- invoices and shipments ----------------------------------------------------------------------


def _invoice_subscription_id(invoice: dict[str, Any]) -> str | None:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return _id_of(details.get("subscription"))


def _upsert_invoice(data: dict[str, Any], subscription: Subscription) -> Invoice:
    invoice = db.session.scalar(
        select(Invoice).where(Invoice.stripe_invoice_id == data["id"]).with_for_update()
    )
    if invoice is None:
        invoice = Invoice(stripe_invoice_id=data["id"], subscription_id=subscription.id)
        db.session.add(invoice)
    lines = (data.get("lines") or {}).get("data") or []
    period = (lines[0].get("period") if lines else None) or {}
    invoice.status = data.get("status") or "open"
    invoice.amount_due_cents = data.get("amount_due") or 0
    invoice.amount_paid_cents = data.get("amount_paid") or 0
    invoice.currency = data.get("currency") or "aud"
    invoice.period_start = timestamp(period.get("start")) or timestamp(data.get("period_start"))
    invoice.period_end = timestamp(period.get("end")) or timestamp(data.get("period_end"))
    transitions = data.get("status_transitions") or {}
    invoice.paid_at = timestamp(transitions.get("paid_at"))
    db.session.flush()
    return invoice


def _charges_a_period(invoice: dict[str, Any]) -> bool:
    """True when the invoice bills a whole subscription period (a box to send), not only a
    plan change's proration or a one-off charge."""
    for line in (invoice.get("lines") or {}).get("data") or []:
        details = (line.get("parent") or {}).get("subscription_item_details")
        if details is not None and not details.get("proration"):
            return True
    return False


def record_invoice(invoice_snapshot: dict[str, Any], after: AfterCommit) -> Invoice | None:
    """invoice.paid / invoice.payment_failed: apply the invoice as Stripe has it now.

    Under the subscription's lock the invoice is fetched afresh, so a late "failed" snapshot
    cannot undo a payment. A paid invoice for a period records one shipment, ever; a failed
    one tells the customer once. Does not commit.
    """
    subscription_id = _invoice_subscription_id(invoice_snapshot)
    if subscription_id is None:
        return None  # not a subscription invoice: nothing the shop ships
    subscription = sync_subscription(subscription_id, after)
    data = gateway().retrieve_invoice(invoice_snapshot["id"])
    invoice = _upsert_invoice(data, subscription)
    if invoice.status == "paid":
        if _charges_a_period(data):
            _record_shipment(invoice, subscription, data.get("customer_shipping"))
    elif (
        invoice.status == "open"
        and data.get("attempt_count", 1) > 0
        and invoice.payment_failed_notified_at is None
        and subscription.status != SubscriptionStatus.CANCELED
    ):
        invoice.payment_failed_notified_at = utcnow()
        after.add(
            _email(
                subscription.customer.email, "payment_failed", subscription.customer, subscription
            )
        )
    return invoice


def _record_shipment(
    invoice: Invoice, subscription: Subscription, snapshot: dict[str, Any] | None
) -> Shipment:
    """The invoice's one shipment, addressed as the invoice was (or, lacking that, as the
    customer's address is now) — one whole address, never a mix of two."""
    existing = db.session.scalar(select(Shipment).where(Shipment.invoice_id == invoice.id))
    if existing is not None:
        return existing
    customer = subscription.customer
    address = (snapshot or {}).get("address") or {}
    if address.get("line1"):
        name, line1, line2 = (
            (snapshot or {}).get("name") or "",
            address["line1"],
            address.get("line2"),
        )
        city, state = address.get("city"), address.get("state")
        postal_code, country = address.get("postal_code"), address.get("country")
    else:
        name, line1, line2 = (
            customer.shipping_name,
            customer.shipping_line1,
            customer.shipping_line2,
        )
        city, state = customer.shipping_city, customer.shipping_state
        postal_code, country = customer.shipping_postal_code, customer.shipping_country
    shipment = Shipment(
        invoice_id=invoice.id,
        subscription_id=subscription.id,
        customer_id=customer.id,
        box_id=subscription.plan.box_id,
        plan_id=subscription.plan_id,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        ship_to_name=name or "",
        ship_to_line1=line1 or "",
        ship_to_line2=line2 or "",
        ship_to_city=city or "",
        ship_to_state=state or "",
        ship_to_postal_code=postal_code or "",
        ship_to_country=country or "",
    )
    db.session.add(shipment)
    db.session.flush()
    return shipment


def set_shipment_status(shipment_id: int, status: ShipmentStatus) -> Shipment | None:
    """Move a shipment to packed or shipped (or back). Commits; None when there is no such one."""
    shipment = db.session.get(Shipment, shipment_id, with_for_update=True)
    if shipment is None:
        return None
    shipment.status = status
    db.session.commit()
    return shipment


# -- billing portal and reconciliation -----------------------------------------------------------


def open_billing_portal(customer: Customer, return_url: str) -> str:
    """The URL of a Stripe Billing Portal session for this customer.

    Raises PaymentProviderError when Stripe fails or the customer has no Stripe account yet.
    """
    if not customer.stripe_customer_id:
        raise PaymentProviderError("There is no billing account for you yet.")
    return gateway().create_billing_portal_session(customer.stripe_customer_id, return_url)["url"]


@dataclass(frozen=True)
class Difference:
    stripe_subscription_id: str
    field: str
    shop_value: object
    stripe_value: object


RECONCILED_FIELDS = (
    "status",
    "plan_id",
    "current_period_start",
    "current_period_end",
    "cancel_at_period_end",
    "cancel_at",
    "canceled_at",
    "ended_at",
)


def reconcile_subscriptions() -> list[Difference]:
    """Fetch every subscription from Stripe and repair the shop's copies. Commits each one.

    Repairs what missed webhooks left behind: subscriptions the shop never saw, states that
    drifted, and shipments for paid invoices it never heard of. Returns what differed; a
    subscription Stripe fails on is reported and skipped, the others still repaired.
    """
    differences: list[Difference] = []
    for data in gateway().list_subscriptions():
        after = AfterCommit()
        try:
            differences.extend(_reconcile_one(data, after))
        except (UnknownStripeObject, PaymentProviderError) as exc:
            db.session.rollback()
            differences.append(Difference(data["id"], "error", None, str(exc)))
            continue
        db.session.commit()
        after.run()
    return differences


def _reconcile_one(data: dict[str, Any], after: AfterCommit) -> list[Difference]:
    _lock(data["id"])
    local = db.session.scalar(
        select(Subscription)
        .where(Subscription.stripe_subscription_id == data["id"])
        .with_for_update()
    )
    before = {name: getattr(local, name) for name in RECONCILED_FIELDS} if local else None
    subscription = _apply_subscription(data, local, after)
    if before is None:
        found = [Difference(data["id"], "missing", None, subscription.status.value)]
    else:
        found = [
            Difference(data["id"], name, before[name], getattr(subscription, name))
            for name in RECONCILED_FIELDS
            if before[name] != getattr(subscription, name)
        ]
    for invoice in gateway().recent_invoices(data["id"]):
        if invoice.get("status") != "paid" or not _charges_a_period(invoice):
            continue
        shipped = db.session.scalar(
            select(Shipment.id)
            .join(Invoice, Shipment.invoice_id == Invoice.id)
            .where(Invoice.stripe_invoice_id == invoice["id"])
        )
        if shipped is None:
            record = _upsert_invoice(invoice, subscription)
            _record_shipment(record, subscription, invoice.get("customer_shipping"))
            found.append(Difference(data["id"], "shipment", None, invoice["id"]))
    return found


def _email(
    to: str, template: str, customer: Customer, subscription: Subscription
) -> Callable[[], Any]:
    from shop.mail.services import send_email

    account_url = absolute_url("accounts.account")
    return lambda: send_email(
        to, template, customer=customer, subscription=subscription, account_url=account_url
    )
