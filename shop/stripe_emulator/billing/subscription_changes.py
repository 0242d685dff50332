"""Changes a customer asks for, through the API or the hosted portal.

Cancel now or at the period end (and undo it), switch an item's price (no proration: the new
price bills from the next period), pause and resume. ``pause_collection`` is a plain field set by
the API; the renewals and the scheduler honour it.
"""

from __future__ import annotations

from typing import Any

from ..errors import StripeError, invalid, missing
from ..objects import add_interval, plan_from_price, snapshot
from ..state import State
from .invoices import create_invoice, finalize_invoice
from .renewals import collect
from .subscriptions import end_subscription, period_end


def require_live(sub: dict[str, Any]) -> None:
    """Refuse changes to a canceled subscription like Stripe does."""
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise StripeError(
            400,
            "A canceled subscription can only update its cancellation_details and metadata.",
            param=None,
        )


def set_cancel_at_period_end(
    em: State, sub: dict[str, Any], value: bool, *, emit: bool = True
) -> dict[str, Any]:
    """Schedule (or undo) cancellation at the end of the current period."""
    require_live(sub)
    previous = {
        "cancel_at": sub["cancel_at"],
        "cancel_at_period_end": sub["cancel_at_period_end"],
        "canceled_at": sub["canceled_at"],
        "cancellation_details": snapshot(sub["cancellation_details"]),
    }
    if value:
        sub["cancel_at"] = period_end(sub)
        sub["cancel_at_period_end"] = True
        sub["canceled_at"] = em.now()
        sub["cancellation_details"]["reason"] = "cancellation_requested"
    else:
        sub["cancel_at"] = None
        sub["cancel_at_period_end"] = False
        sub["canceled_at"] = None
        sub["cancellation_details"] = {"comment": None, "feedback": None, "reason": None}
    changed = {k: v for k, v in previous.items() if sub[k] != v}
    if emit and changed:
        em.emit("customer.subscription.updated", sub, changed)
    return changed


def change_price(
    em: State,
    sub: dict[str, Any],
    item_id: str | None,
    price_id: str,
    quantity: int | None = None,
) -> None:
    """Swap an item's price (no proration, new price bills from the next period)."""
    require_live(sub)
    price = em.data["prices"].get(price_id)
    if price is None:
        raise missing("price", price_id, "items[0][price]")
    if not price.get("active"):
        raise invalid("items[0][price]", f"The price specified is inactive: {price_id}")
    if not price.get("recurring"):
        raise invalid(
            "items[0][price]",
            "The price specified is set to `type=one_time` but this field only accepts prices "
            "with `type=recurring`.",
        )
    items = sub["items"]["data"]
    item = (
        items[0]
        if item_id is None and len(items) == 1
        else next((i for i in items if i["id"] == item_id), None)
    )
    if item is None:
        raise missing("subscription item", str(item_id), "items[0][id]")
    if price["currency"] != sub["currency"]:
        raise invalid("items[0][price]", "The price's currency does not match the subscription's.")
    item["price"] = {k: v for k, v in price.items() if not k.startswith("_")}
    item["plan"] = plan_from_price(price)
    if quantity is not None:
        item["quantity"] = quantity


def cancel_now(em: State, sub: dict[str, Any]) -> dict[str, Any]:
    """DELETE /v1/subscriptions/{id}: end it immediately."""
    if sub["status"] == "canceled":
        raise StripeError(
            400,
            f"This subscription has already been canceled: {sub['id']}",
            code="resource_missing",
        )
    sub["cancellation_details"]["reason"] = "cancellation_requested"
    end_subscription(em, sub, "cancellation_requested")
    return sub


def pause(em: State, sub: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/subscriptions/{id}/pause: status paused, no renewals until resumed."""
    if sub["status"] not in ("active", "trialing", "past_due"):
        raise StripeError(400, f"Subscriptions with status {sub['status']} cannot be paused.")
    previous = {"status": sub["status"]}
    sub["status"] = "paused"
    em.emit("customer.subscription.updated", sub, previous)
    em.emit("customer.subscription.paused", sub)
    return sub


def resume(em: State, sub: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/subscriptions/{id}/resume: new period from now, bill it, status active."""
    if sub["status"] != "paused":
        raise StripeError(400, "Only paused subscriptions can be resumed.", param=None)
    now = em.now()
    previous = {
        "items": snapshot(sub["items"]),
        "status": "paused",
        "latest_invoice": sub["latest_invoice"],
    }
    for item in sub["items"]["data"]:
        recurring = em.data["prices"][item["price"]["id"]]["recurring"]
        item["current_period_start"] = now
        item["current_period_end"] = add_interval(
            now, recurring["interval"], int(recurring["interval_count"])
        )
    sub["billing_cycle_anchor"] = now
    sub["status"] = "active"
    sub["pause_collection"] = None
    invoice = create_invoice(
        em, sub, billing_reason="subscription_update", period_start=now, period_end=now
    )
    sub["latest_invoice"] = invoice["id"]
    em.emit("customer.subscription.updated", sub, previous)
    em.emit("customer.subscription.resumed", sub)
    finalize_invoice(em, invoice)
    collect(em, sub, invoice, first_attempt=True)
    return sub


def emit_updated(em: State, sub: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """Emit customer.subscription.updated with what changed since ``before`` (a rendering).

    Returns the previous attributes; nothing is emitted when nothing changed.
    """
    after = em.render(sub)
    previous = {k: before[k] for k in before if before[k] != after[k]}
    if previous:
        em.emit("customer.subscription.updated", sub, previous)
    return previous


def switch_price(em: State, sub: dict[str, Any], price_id: str) -> None:
    """Move a one-item subscription to another price (the portal's plan switch)."""
    before = em.render(sub)
    change_price(em, sub, sub["items"]["data"][0]["id"], price_id)
    emit_updated(em, sub, before)
