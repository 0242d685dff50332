"""Discounts: what a coupon takes off, how long it keeps applying, and counting redemptions."""

from __future__ import annotations

from typing import Any

from ..objects import add_interval, new_id
from ..state import State


def coupon_amount(coupon: dict[str, Any], subtotal: int) -> int:
    """The discount a coupon gives on ``subtotal`` (never more than the subtotal)."""
    if coupon.get("percent_off") is not None:
        return min(subtotal, round(subtotal * float(coupon["percent_off"]) / 100))
    return min(subtotal, int(coupon.get("amount_off") or 0))


def create_discount(
    em: State,
    *,
    coupon_id: str,
    promotion_code_id: str | None,
    customer_id: str,
    subscription_id: str | None,
    checkout_session_id: str | None,
) -> dict[str, Any]:
    """Store the discount a coupon grants to a subscription and count the redemption."""
    coupon = em.data["coupons"][coupon_id]
    start = em.now()
    end = None
    if coupon["duration"] == "repeating" and coupon.get("duration_in_months"):
        end = add_interval(start, "month", int(coupon["duration_in_months"]))
    discount = {
        "id": new_id("di_"),
        "object": "discount",
        "checkout_session": checkout_session_id,
        "customer": customer_id,
        "customer_account": None,
        "end": end,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": promotion_code_id,
        "source": {"coupon": coupon_id, "type": "coupon"},
        "start": start,
        "subscription": subscription_id,
        "subscription_item": None,
        "_uses": 0,
    }
    coupon["times_redeemed"] = int(coupon["times_redeemed"]) + 1
    if coupon.get("max_redemptions") and coupon["times_redeemed"] >= int(coupon["max_redemptions"]):
        coupon["valid"] = False
    if promotion_code_id:
        promo = em.data["promotion_codes"][promotion_code_id]
        promo["times_redeemed"] = int(promo["times_redeemed"]) + 1
    return em.insert("discounts", discount)


def discount_applies(em: State, discount: dict[str, Any], at: int) -> bool:
    """Whether a subscription discount still applies to an invoice created at ``at``."""
    coupon = em.data["coupons"].get(discount["source"]["coupon"])
    if coupon is None:
        return False
    if coupon["duration"] == "once":
        return int(discount["_uses"]) == 0
    if coupon["duration"] == "repeating":
        return discount["end"] is None or at < int(discount["end"])
    return True
