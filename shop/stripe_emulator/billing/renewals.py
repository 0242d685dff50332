"""Period boundaries and dunning: renewal invoices, collection, retries and a new card.

At a period boundary a subscription either ends (``cancel_at`` reached) or bills its next period;
``pause_collection`` turns that invoice into a draft, a void or an uncollectible one instead of a
charge, until its ``resumes_at`` (if any) lifts the pause. A failed charge makes the subscription ``past_due`` and is retried after
``payment_retry_days``; when the last retry fails the subscription is canceled.
"""

from __future__ import annotations

from typing import Any

from ..objects import add_interval, snapshot
from ..state import State
from .cards import CardInput, create_payment_method
from .invoices import create_invoice, finalize_invoice, pay_invoice
from .subscriptions import end_subscription, set_status, subscription_payment_method

DAY = 86400


def next_period_end(anchor: int, interval: str, count: int, now: int) -> int:
    """The first period boundary after `now`, counted from the billing anchor as Stripe does
    (a subscription begun on 31 January renews on the 28th, then the 31st of March)."""
    periods = 1
    while (end := add_interval(anchor, interval, count * periods)) <= now:
        periods += 1
    return end


def renew(em: State, sub: dict[str, Any]) -> None:
    """Handle the period boundary now: end a cancelling subscription or bill the next period."""
    now = em.now()
    if sub.get("cancel_at") is not None and int(sub["cancel_at"]) <= now:
        end_subscription(
            em, sub, sub["cancellation_details"].get("reason") or "cancellation_requested"
        )
        return
    previous = {"items": snapshot(sub["items"]), "latest_invoice": sub["latest_invoice"]}
    old_start = min(int(i["current_period_start"]) for i in sub["items"]["data"])
    for item in sub["items"]["data"]:
        price = em.data["prices"][item["price"]["id"]]
        recurring = price["recurring"]
        item["current_period_start"] = now
        item["current_period_end"] = next_period_end(
            int(sub.get("billing_cycle_anchor") or old_start),
            recurring["interval"],
            int(recurring["interval_count"]),
            now,
        )
    invoice = create_invoice(
        em, sub, billing_reason="subscription_cycle", period_start=old_start, period_end=now
    )
    sub["latest_invoice"] = invoice["id"]
    em.emit("customer.subscription.updated", sub, previous)
    pause = sub.get("pause_collection")
    if pause:
        behaviour = pause.get("behavior")
        if behaviour == "keep_as_draft":
            return
        finalize_invoice(em, invoice)
        if behaviour == "void":
            invoice["status"] = "void"
            invoice["amount_remaining"] = 0
            invoice["status_transitions"]["voided_at"] = now
            em.emit("invoice.voided", invoice)
        else:
            invoice["status"] = "uncollectible"
            invoice["status_transitions"]["marked_uncollectible_at"] = now
            em.emit("invoice.marked_uncollectible", invoice)
        return
    finalize_invoice(em, invoice)
    collect(em, sub, invoice, first_attempt=True)


def resume_collection(em: State, sub: dict[str, Any]) -> None:
    """``pause_collection.resumes_at`` has come: lift the pause so renewals charge again."""
    previous = {"pause_collection": snapshot(sub["pause_collection"])}
    sub["pause_collection"] = None
    em.emit("customer.subscription.updated", sub, previous)


def collect(
    em: State, sub: dict[str, Any], invoice: dict[str, Any], *, first_attempt: bool
) -> bool:
    """Attempt an invoice of ``sub`` and move the subscription between active/past_due/canceled."""
    now = em.now()
    if first_attempt:
        invoice["_retry_at"] = [now + days * DAY for days in em.payment_retry_days]
    else:
        invoice["_retry_at"] = invoice["_retry_at"][1:]
    paid = pay_invoice(em, invoice, subscription_payment_method(em, sub))
    if paid:
        if sub["status"] == "past_due" and not open_invoices(em, sub):
            set_status(em, sub, "active")
        return True
    if sub["status"] == "active":
        set_status(em, sub, "past_due")
    if not first_attempt and not invoice["_retry_at"]:
        end_subscription(em, sub, "payment_failed")
    return False


def open_invoices(em: State, sub: dict[str, Any]) -> list[dict[str, Any]]:
    """Unpaid, finalized invoices of a subscription."""
    return [
        inv
        for inv in em.data["invoices"].values()
        if inv["status"] == "open"
        and inv["parent"]["subscription_details"]["subscription"] == sub["id"]
    ]


def retry_open_invoices(em: State, sub: dict[str, Any]) -> None:
    """After a card change: try the subscription's open invoices again at once."""
    for invoice in sorted(open_invoices(em, sub), key=lambda i: i["created"]):
        invoice["_retry_at"] = [em.now(), *invoice["_retry_at"]]
        collect(em, sub, invoice, first_attempt=False)
        if sub["status"] == "canceled":
            return


def change_card(em: State, sub: dict[str, Any], card: CardInput) -> dict[str, Any]:
    """Portal "update card": new default card for the customer and subscription; retry debts."""
    customer = em.data["customers"][sub["customer"]]
    pm = create_payment_method(em, card, customer["id"])
    em.emit("payment_method.attached", pm)
    previous_settings = snapshot(customer["invoice_settings"])
    customer["invoice_settings"]["default_payment_method"] = pm["id"]
    em.emit("customer.updated", customer, {"invoice_settings": previous_settings})
    for other in em.data["subscriptions"].values():
        if other["customer"] == customer["id"] and other["status"] not in (
            "canceled",
            "incomplete_expired",
        ):
            old = other.get("default_payment_method")
            other["default_payment_method"] = pm["id"]
            em.emit("customer.subscription.updated", other, {"default_payment_method": old})
            if other["status"] == "past_due":
                retry_open_invoices(em, other)
    return pm
