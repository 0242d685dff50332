"""Subscriptions: creating one, its first invoice, status changes and ending it."""

from __future__ import annotations

from typing import Any

from ..objects import add_interval, list_object, new_id, plan_from_price, snapshot
from ..state import State
from .invoices import create_invoice, finalize_invoice


def new_subscription(
    em: State,
    *,
    customer_id: str,
    line_items: list[dict[str, Any]],
    metadata: dict[str, str],
    description: str | None,
    payment_method: str | None,
) -> dict[str, Any]:
    """Store an ``incomplete`` subscription whose items start a period now."""
    now = em.now()
    sub_id = new_id("sub_")
    items = []
    currency = None
    for line in line_items:
        price = em.data["prices"][line["price"]]
        currency = price["currency"]
        recurring = price["recurring"]
        items.append(
            {
                "id": new_id("si_", 14),
                "object": "subscription_item",
                "billed_until": None,
                "billing_thresholds": None,
                "created": now,
                "current_period_end": add_interval(
                    now, recurring["interval"], int(recurring["interval_count"])
                ),
                "current_period_start": now,
                "current_trial": None,
                "discounts": [],
                "metadata": {},
                "plan": plan_from_price(price),
                "price": {k: v for k, v in price.items() if not k.startswith("_")},
                "quantity": int(line["quantity"]),
                "subscription": sub_id,
                "tax_rates": [],
            }
        )
    sub = {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": now,
        "billing_cycle_anchor_config": None,
        "billing_mode": {
            "flexible": {"proration_discounts": "included"},
            "type": "flexible",
            "updated_at": now,
        },
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": currency,
        "customer": customer_id,
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": payment_method,
        "default_source": None,
        "default_tax_rates": [],
        "description": description,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": list_object(items, f"/v1/subscription_items?subscription={sub_id}", total=True),
        "latest_invoice": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": dict(metadata),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "presentment_details": None,
        "schedule": None,
        "start_date": now,
        "status": "incomplete",
        "status_details": None,
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }
    return em.insert("subscriptions", sub)


def start_subscription(em: State, sub: dict[str, Any]) -> dict[str, Any]:
    """Announce a new subscription and issue its first (finalized, unpaid) invoice."""
    invoice_id = new_id("in_")
    sub["latest_invoice"] = invoice_id
    em.emit("customer.subscription.created", sub)
    start = int(sub["start_date"])
    invoice = create_invoice(
        em,
        sub,
        billing_reason="subscription_create",
        period_start=start,
        period_end=start,
        invoice_id=invoice_id,
    )
    finalize_invoice(em, invoice)
    return invoice


def period_end(sub: dict[str, Any]) -> int:
    """The end of the subscription's current period (earliest item)."""
    return min(int(item["current_period_end"]) for item in sub["items"]["data"])


def set_status(em: State, sub: dict[str, Any], status: str, **changes: Any) -> None:
    """Change status (and other top-level fields) emitting customer.subscription.updated."""
    previous = {"status": sub["status"]}
    for key in changes:
        previous[key] = snapshot(sub.get(key))
    sub["status"] = status
    sub.update(changes)
    em.emit("customer.subscription.updated", sub, previous)


def end_subscription(em: State, sub: dict[str, Any], reason: str) -> None:
    """Cancel now: status canceled, ended; emits customer.subscription.deleted."""
    now = em.now()
    sub["status"] = "canceled"
    sub["ended_at"] = now
    sub["canceled_at"] = sub.get("canceled_at") or now
    sub["cancellation_details"]["reason"] = reason
    for invoice in em.data["invoices"].values():
        if invoice["parent"]["subscription_details"]["subscription"] == sub["id"]:
            invoice["_retry_at"] = []
            invoice["next_payment_attempt"] = None
    em.emit("customer.subscription.deleted", sub)


def subscription_payment_method(em: State, sub: dict[str, Any]) -> str | None:
    """The card a subscription charges: its own default, else the customer's."""
    if sub.get("default_payment_method"):
        return sub["default_payment_method"]
    customer = em.data["customers"].get(sub["customer"], {})
    return (customer.get("invoice_settings") or {}).get("default_payment_method")
