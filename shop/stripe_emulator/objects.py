"""Builders for Stripe objects in the shapes of API version 2026-10-28.endive, plus helpers.

This module imports nothing else from the emulator: the state, the billing behaviour and the API
all build on it. Builders only need a clock, so they take anything with ``now()``.
"""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import secrets
import string
from typing import Any, Protocol

_ALPHABET = string.ascii_letters + string.digits


class Clock(Protocol):
    """Anything that tells emulator time (the Emulator does)."""

    def now(self) -> int: ...


def new_id(prefix: str, length: int = 24) -> str:
    """A Stripe-looking id: prefix plus random letters and digits."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def snapshot(obj: Any) -> Any:
    """A deep copy, for ``previous_attributes`` and for copying one object's hash into another."""
    return copy.deepcopy(obj)


def list_object(
    data: list[Any], url: str, *, has_more: bool = False, total: bool = False
) -> dict[str, Any]:
    """Stripe's list envelope."""
    result: dict[str, Any] = {"object": "list", "data": data, "has_more": has_more, "url": url}
    if total:
        result["total_count"] = len(data)
    return result


def add_interval(timestamp: int, interval: str, count: int) -> int:
    """Add ``count`` intervals to a Unix time, clamping month ends like Stripe's billing anchors."""
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    if interval == "day":
        return int((moment + dt.timedelta(days=count)).timestamp())
    if interval == "week":
        return int((moment + dt.timedelta(weeks=count)).timestamp())
    months = count * (12 if interval == "year" else 1)
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def plan_from_price(price: dict[str, Any]) -> dict[str, Any] | None:
    """The legacy ``plan`` object Stripe still embeds in subscription items."""
    recurring = price.get("recurring")
    if not recurring:
        return None
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": str(price["unit_amount"]) if price["unit_amount"] is not None else None,
        "billing_scheme": "per_unit",
        "created": price["created"],
        "currency": price["currency"],
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": False,
        "metadata": dict(price.get("metadata") or {}),
        "meter": None,
        "nickname": price.get("nickname"),
        "product": price["product"],
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def empty_address() -> dict[str, Any]:
    """An address hash with every field null."""
    return {
        "city": None,
        "country": None,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }


def build_product(em: Clock, *, name: str, obj_id: str | None = None) -> dict[str, Any]:
    """A new product with defaults."""
    now = em.now()
    return {
        "id": obj_id or new_id("prod_", 14),
        "object": "product",
        "active": True,
        "created": now,
        "default_price": None,
        "description": None,
        "images": [],
        "livemode": False,
        "marketing_features": [],
        "metadata": {},
        "name": name,
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "tax_details": None,
        "type": "service",
        "unit_label": None,
        "updated": now,
        "url": None,
    }


def build_price(em: Clock, *, product: str, currency: str, unit_amount: int) -> dict[str, Any]:
    """A new per-unit price."""
    return {
        "id": new_id("price_"),
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": em.now(),
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": product,
        "recurring": None,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def build_customer(em: Clock) -> dict[str, Any]:
    """A new empty customer."""
    obj_id = new_id("cus_", 14)
    return {
        "id": obj_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "business_name": None,
        "created": em.now(),
        "currency": None,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "individual_name": None,
        "invoice_prefix": obj_id[4:12].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def build_coupon(em: Clock, obj_id: str | None) -> dict[str, Any]:
    """A new coupon shell (amounts filled by the caller)."""
    return {
        "id": obj_id or new_id("", 8),
        "object": "coupon",
        "amount_off": None,
        "applies_to": None,
        "created": em.now(),
        "currency": None,
        "duration": "once",
        "duration_in_months": None,
        "livemode": False,
        "max_redemptions": None,
        "metadata": {},
        "name": None,
        "percent_off": None,
        "redeem_by": None,
        "times_redeemed": 0,
        "valid": True,
    }


def build_promotion_code(em: Clock, *, code: str, coupon: str) -> dict[str, Any]:
    """A new promotion code for a coupon (2026 shape: ``promotion.coupon``)."""
    return {
        "id": new_id("promo_"),
        "object": "promotion_code",
        "active": True,
        "code": code,
        "created": em.now(),
        "customer": None,
        "customer_account": None,
        "expires_at": None,
        "livemode": False,
        "max_redemptions": None,
        "metadata": {},
        "promotion": {"coupon": coupon, "type": "coupon"},
        "restrictions": {
            "currency_options": {},
            "first_time_transaction": False,
            "minimum_amount": None,
            "minimum_amount_currency": None,
        },
        "times_redeemed": 0,
    }


def build_webhook_endpoint(em: Clock, *, url: str, enabled_events: list[str]) -> dict[str, Any]:
    """A new webhook endpoint with a fresh signing secret."""
    return {
        "id": new_id("we_"),
        "object": "webhook_endpoint",
        "api_version": None,
        "application": None,
        "created": em.now(),
        "description": None,
        "enabled_events": enabled_events,
        "livemode": False,
        "metadata": {},
        "_secret": "whsec_" + new_id("", 32),
        "status": "enabled",
        "url": url,
    }
