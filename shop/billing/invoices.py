"""Invoices: each paid period becomes its boxes on the calendar; a failed one tells the customer.

An invoice is applied as Stripe has it now (fetched afresh under its subscription's lock), so a
late "payment failed" can never undo a payment. A paid invoice that bills a whole period grants
its plan's boxes once, ever (`calendar.grant_boxes`), after those of the invoices paid before it
(granted first if their events have not been applied yet), so the calendar follows the order the
periods were paid in, not the order their events arrive in; a proration or a voided (skipped)
invoice grants none. A failed one emails the customer once per invoice, never for a subscription
that has ended.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shop.billing.calendar import grant_boxes
from shop.billing.gateway import NotFoundAtProvider, gateway
from shop.billing.models import CalendarBox, Invoice, Subscription, SubscriptionStatus
from shop.billing.notifications import AfterCommit
from shop.billing.stripe_data import (
    UnknownStripeObject,
    invoice_subscription_id,
    line_price,
    period_line,
    timestamp,
)
from shop.billing.subscriptions import plan_for_price, sync_subscription
from shop.catalog.models import Plan
from shop.db import utcnow
from shop.extensions import db


def upsert_invoice(data: dict[str, Any], subscription: Subscription) -> Invoice:
    """The shop's copy of a Stripe invoice, created or brought up to date. Does not commit."""
    line = period_line(data)
    plan_id = plan_for_price(line_price(line)).id if line else None
    invoice = db.session.scalar(
        select(Invoice).where(Invoice.stripe_invoice_id == data["id"]).with_for_update()
    )
    if invoice is None:
        invoice = Invoice(stripe_invoice_id=data["id"], subscription_id=subscription.id)
        db.session.add(invoice)
    period = (line or {}).get("period") or {}
    invoice.plan_id = plan_id
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


def invoice_has_boxes(stripe_invoice_id: str) -> bool:
    """Whether a Stripe invoice has already granted its boxes here."""
    return (
        db.session.scalar(
            select(CalendarBox.id)
            .join(Invoice, Invoice.id == CalendarBox.invoice_id)
            .where(Invoice.stripe_invoice_id == stripe_invoice_id)
            .limit(1)
        )
        is not None
    )


def apply_paid_invoice(
    data: dict[str, Any], subscription: Subscription
) -> tuple[Invoice, list[CalendarBox]]:
    """Record an invoice and, when it paid a period, grant that period's boxes (those it lacks).
    Returns the invoice and the boxes granted now. Does not commit."""
    invoice = upsert_invoice(data, subscription)
    if invoice.status != "paid" or invoice.plan_id is None:
        return invoice, []
    plan = db.session.get_one(Plan, invoice.plan_id)
    return invoice, grant_boxes(invoice, subscription, plan)


def grant_earlier_paid_periods(data: dict[str, Any], subscription: Subscription) -> None:
    """Grant the boxes of the subscription's invoices paid before this one that have none yet
    (their events late, failed for now, or still on the way), oldest first. Does not commit.

    Boxes follow on from the subscription's last box, so without this a period whose event is
    applied after a later period's would ship after it, months late, leaving a gap in its place.
    """
    paid_at = _paid_at(data)
    earlier = [
        invoice
        for invoice in gateway().paid_invoices(subscription.stripe_subscription_id)
        if invoice["id"] != data["id"]
        and _paid_at(invoice) <= paid_at
        and period_line(invoice) is not None
    ]
    for invoice in sorted(earlier, key=_paid_at):
        if not invoice_has_boxes(invoice["id"]):
            apply_paid_invoice(invoice, subscription)


def _paid_at(invoice: dict[str, Any]) -> tuple[int, int]:
    paid_at = (invoice.get("status_transitions") or {}).get("paid_at") or invoice.get("created")
    return int(paid_at or 0), int(invoice.get("created") or 0)


def record_invoice(invoice_snapshot: dict[str, Any], after: AfterCommit) -> Invoice:
    """invoice.paid / invoice.payment_failed / invoice.voided: apply the invoice as Stripe has it
    now. Does not commit. Raises UnknownStripeObject for an invoice that is not a subscription's
    of the shop (a one-off invoice, another product's)."""
    subscription_id = invoice_subscription_id(invoice_snapshot)
    if subscription_id is None:
        raise UnknownStripeObject(f"invoice {invoice_snapshot.get('id')} bills no subscription")
    subscription = sync_subscription(subscription_id, after)
    try:
        data = gateway().retrieve_invoice(invoice_snapshot["id"])
    except NotFoundAtProvider as exc:
        raise UnknownStripeObject(f"Stripe has no invoice {invoice_snapshot['id']}") from exc
    # A subscription's first invoice has nothing before it: Stripe need not be asked.
    if data.get("status") == "paid" and data.get("billing_reason") != "subscription_create":
        grant_earlier_paid_periods(data, subscription)
    invoice, _granted = apply_paid_invoice(data, subscription)
    if (
        invoice.status == "open"
        and data.get("attempt_count", 1) > 0
        and invoice.payment_failed_notified_at is None
        and subscription.status != SubscriptionStatus.CANCELED
    ):
        invoice.payment_failed_notified_at = utcnow()
        after.email(
            subscription.customer,
            "payment_failed",
            invoice.stripe_invoice_id,
            subscription_id=subscription.id,
            invoice_id=invoice.id,
        )
    return invoice
