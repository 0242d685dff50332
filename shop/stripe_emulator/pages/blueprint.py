"""The hosted pages' blueprint and what every page shares: the shop's name and the filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, request

from shop.money import format_money as shop_money

from ..api import emulator

bp = Blueprint("stripe_pages", __name__)


def format_money(amount: int | None, currency: str | None) -> str:
    """``4500, "aud"`` -> ``$45.00 AUD``: the shop's own money format (``shop.money``), so that
    checkout and the portal read like the shop's pages and emails."""
    if amount is None:
        return "—"
    return shop_money(int(amount), currency or "aud")


def describe_term(recurring: dict[str, Any] | None) -> str:
    """``{"interval": "month", "interval_count": 3}`` -> ``every 3 months``."""
    if not recurring:
        return "one time"
    interval = recurring.get("interval", "month")
    count = int(recurring.get("interval_count") or 1)
    if count == 1:
        return f"every {interval}"
    return f"every {count} {interval}s"


def describe_coupon(coupon: dict[str, Any] | None) -> str:
    """What a coupon takes off, as Checkout words it: ``20% off``, ``$10.00 AUD off for 3 months``."""
    if not coupon:
        return ""
    if coupon.get("percent_off") is not None:
        text = f"{float(coupon['percent_off']):g}% off"
    elif coupon.get("amount_off") is not None:
        text = f"{format_money(int(coupon['amount_off']), coupon.get('currency'))} off"
    else:
        return ""
    months = coupon.get("duration_in_months")
    if coupon.get("duration") == "repeating" and months:
        text += f" for {months} month{'' if int(months) == 1 else 's'}"
    return text


@bp.app_context_processor
def inject_account_name() -> dict[str, Any]:
    """Every hosted page shows the shop's name in its header."""
    return {"account_name": emulator().account_name}


@bp.app_template_filter("money")
def money_filter(amount: int | None, currency: str | None) -> str:
    """Format minor units for display."""
    return format_money(amount, currency)


@bp.app_template_filter("term")
def term_filter(recurring: dict[str, Any] | None) -> str:
    """``every 3 months``."""
    return describe_term(recurring)


@bp.app_template_filter("coupon_terms")
def coupon_terms_filter(coupon: dict[str, Any] | None) -> str:
    """``20% off for 3 months``."""
    return describe_coupon(coupon)


@bp.app_template_filter("date")
def date_filter(timestamp: int | float | None) -> str:
    """A Unix time as a UTC date and time."""
    if timestamp is None:
        return "—"
    return dt.datetime.fromtimestamp(float(timestamp), dt.UTC).strftime("%d %b %Y %H:%M UTC")


def form_value(name: str, limit: int = 200) -> str:
    """A submitted form field, stripped and cut to ``limit`` characters (missing: ``""``)."""
    value = request.form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""
