"""The hosted pages' blueprint and what every page shares: the shop's name and the filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, request

from ..api import emulator

bp = Blueprint("stripe_pages", __name__)

CURRENCY_SYMBOLS = {"aud": "$", "usd": "$", "nzd": "$", "cad": "$", "eur": "€", "gbp": "£"}
ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "pyg", "xaf", "xof", "ugx", "rwf", "kmf", "gnf"}


def format_money(amount: int | None, currency: str | None) -> str:
    """``4500, "aud"`` -> ``A$45.00`` style text for the hosted pages."""
    if amount is None:
        return "—"
    code = (currency or "").lower()
    text = f"{amount:,}" if code in ZERO_DECIMAL else f"{amount / 100:,.2f}"
    symbol = CURRENCY_SYMBOLS.get(code, "")
    prefix = "A$" if code == "aud" else symbol
    return f"{prefix}{text}" if prefix else f"{text} {code.upper()}"


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
    """What a coupon takes off, as Checkout words it: ``20% off``, ``A$10.00 off for 3 months``."""
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
