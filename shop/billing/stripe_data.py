"""Reading Stripe's objects (plain dicts in API version 2026-10-28.endive): ids, times, and
where an invoice keeps its subscription and its period's price."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class UnknownStripeObject(Exception):
    """Something in Stripe that is not the shop's: a price it never sold, a one-off invoice,
    a customer it never met. Webhooks about it are recorded as ignored, with this reason."""


def timestamp(value: int | None) -> datetime | None:
    """A Stripe Unix time as an aware UTC datetime (None stays None)."""
    return datetime.fromtimestamp(value, UTC) if value else None


def id_of(value: Any) -> str | None:
    """Stripe fields hold an id, or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return value.get("id")


def invoice_subscription_id(invoice: dict[str, Any]) -> str | None:
    """The subscription an invoice bills (under parent.subscription_details), if any."""
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return id_of(details.get("subscription"))


def period_line(invoice: dict[str, Any]) -> dict[str, Any] | None:
    """The line billing a whole subscription period (a box to send), not a proration."""
    for line in (invoice.get("lines") or {}).get("data") or []:
        details = (line.get("parent") or {}).get("subscription_item_details")
        if details is not None and not details.get("proration"):
            return line
    return None


def line_price(line: dict[str, Any]) -> dict[str, Any]:
    """The price of an invoice line: `pricing.price_details.price` in this API version."""
    pricing = line.get("pricing") or {}
    price = (pricing.get("price_details") or {}).get("price") or line.get("price") or {}
    return {"id": price} if isinstance(price, str) else price
