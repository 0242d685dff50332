"""Subscription changes shared by the API and the hosted billing portal."""

from __future__ import annotations

from typing import Any

from .billing import (
    collect,
    create_invoice,
    end_subscription,
    finalize_invoice,
    period_end,
    snapshot,
)
from .core import Emulator
from .errors import StripeError, invalid, missing
from .forms import to_bool, to_dict, to_int, to_list, to_str
from .objects import add_interval, plan_from_price

PAUSE_BEHAVIOURS = ("keep_as_draft", "mark_uncollectible", "void")


def require_live(sub: dict[str, Any]) -> None:
    """Refuse changes to a canceled subscription like Stripe does."""
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise StripeError(
            400,
            "A canceled subscription can only update its cancellation_details and metadata.",
            param=None,
        )


def set_cancel_at_period_end(
    em: Emulator, sub: dict[str, Any], value: bool, *, emit: bool = True
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
    em: Emulator,
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


def apply_update(em: Emulator, sub: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/subscriptions/{id}: metadata, cancel_at_period_end, items, pause_collection..."""
    allowed = {
        "cancel_at_period_end",
        "items",
        "pause_collection",
        "metadata",
        "expand",
        "proration_behavior",
        "description",
        "default_payment_method",
        "cancellation_details",
        "cancel_at",
        "payment_behavior",
    }
    for key in params:
        if key not in allowed:
            raise invalid(key, f"Received unknown parameter: {key}", code="parameter_unknown")
    before = em.render(sub)
    if sub["status"] in ("canceled", "incomplete_expired") and set(params) - {
        "metadata",
        "cancellation_details",
        "expand",
    }:
        require_live(sub)
    if "metadata" in params:
        metadata = to_dict(params["metadata"], "metadata")
        if params["metadata"] == "":
            sub["metadata"] = {}
        for key, value in metadata.items():
            if value == "":
                sub["metadata"].pop(key, None)
            else:
                sub["metadata"][key] = to_str(value, f"metadata[{key}]")
    if "description" in params:
        sub["description"] = to_str(params["description"], "description") or None
    if "cancellation_details" in params:
        details = to_dict(params["cancellation_details"], "cancellation_details")
        for key in ("comment", "feedback"):
            if key in details:
                sub["cancellation_details"][key] = details[key] or None
    if "cancel_at_period_end" in params:
        set_cancel_at_period_end(
            em, sub, to_bool(params["cancel_at_period_end"], "cancel_at_period_end"), emit=False
        )
    if "cancel_at" in params:
        if params["cancel_at"] == "":
            set_cancel_at_period_end(em, sub, False, emit=False)
        else:
            require_live(sub)
            sub["cancel_at"] = to_int(params["cancel_at"], "cancel_at", minimum=em.now())
            sub["canceled_at"] = em.now()
            sub["cancel_at_period_end"] = sub["cancel_at"] == period_end(sub)
    if "items" in params:
        for index, item in enumerate(to_list(params["items"], "items")):
            item = to_dict(item, f"items[{index}]")
            if "price" not in item:
                raise invalid(
                    f"items[{index}][price]",
                    "Only price changes on existing items are supported by the emulator.",
                    code="parameter_missing",
                )
            quantity = (
                to_int(item["quantity"], f"items[{index}][quantity]", minimum=1)
                if "quantity" in item
                else None
            )
            change_price(
                em, sub, item.get("id"), to_str(item["price"], f"items[{index}][price]"), quantity
            )
    if "pause_collection" in params:
        require_live(sub)
        value = params["pause_collection"]
        if value == "":
            sub["pause_collection"] = None
        else:
            value = to_dict(value, "pause_collection")
            behaviour = value.get("behavior")
            if behaviour not in PAUSE_BEHAVIOURS:
                raise invalid(
                    "pause_collection[behavior]",
                    "Invalid pause_collection[behavior]: must be one of "
                    + ", ".join(PAUSE_BEHAVIOURS),
                )
            resumes_at = (
                to_int(value["resumes_at"], "pause_collection[resumes_at]")
                if value.get("resumes_at")
                else None
            )
            sub["pause_collection"] = {"behavior": behaviour, "resumes_at": resumes_at}
    if "default_payment_method" in params:
        pm_id = to_str(params["default_payment_method"], "default_payment_method")
        if pm_id and pm_id not in em.data["payment_methods"]:
            raise missing("PaymentMethod", pm_id, "default_payment_method")
        sub["default_payment_method"] = pm_id or None
    after = em.render(sub)
    previous = {k: before[k] for k in before if before[k] != after[k]}
    if previous:
        em.emit("customer.subscription.updated", sub, previous)
    return sub


def cancel_now(em: Emulator, sub: dict[str, Any]) -> dict[str, Any]:
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


def pause(em: Emulator, sub: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/subscriptions/{id}/pause: status paused, no renewals until resumed."""
    if sub["status"] not in ("active", "trialing", "past_due"):
        raise StripeError(400, f"Subscriptions with status {sub['status']} cannot be paused.")
    previous = {"status": sub["status"]}
    sub["status"] = "paused"
    em.emit("customer.subscription.updated", sub, previous)
    em.emit("customer.subscription.paused", sub)
    return sub


def resume(em: Emulator, sub: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
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
